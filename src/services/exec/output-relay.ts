import type { ExecutionId, ReplicaId } from '../../entities/ids.ts';
import type { EventBus } from '../events.ts';
import type { HeldEvent, OutputLogs } from './output-log.ts';

/** OutputRelayed is one execution's output event, passed from the replica running it. */
export interface OutputRelayed {
  readonly replica: ReplicaId;
  readonly id: ExecutionId;
  readonly event: HeldEvent;
  readonly final: boolean;
}

/**
 * relayOutput makes every replica hold the output of every execution: what is written here is
 * published, and what other replicas publish is mirrored here with its numbers, so a client
 * follows (and resumes after a given event) through any replica. Returns how to stop.
 */
export function relayOutput(events: EventBus, logs: OutputLogs, replica: ReplicaId): () => void {
  logs.relayTo((id, event, final) =>
    events.publish('executionOutput', { replica, id, event, final }),
  );
  return events.listen('executionOutput', (r) => {
    if (r.replica !== replica) logs.mirrored(r.id).mirror(r.event, r.final);
  });
}
