import { randomUUID } from 'node:crypto';
import type { OperationId, ReplicaId } from '../../entities/ids.ts';
import type { EventBus } from '../events.ts';
import type { CancelOutcome, OperationRunner } from './operation-runner.ts';

/** CancelAsk asks `replica` to cancel operation `id`; `ask` pairs it with its answer. */
export interface CancelAsk {
  readonly ask: string;
  readonly id: OperationId;
  readonly replica: ReplicaId;
}

/** CancelAnswer is the outcome of a CancelAsk. */
export interface CancelAnswer {
  readonly ask: string;
  readonly outcome: CancelOutcome;
}

// A replica that does not answer within this is dead or cut off: its operations are settled
// by the others, not cancelled.
const ANSWER_MS = 5000;

/**
 * CancelRelay cancels an operation wherever it runs: here through the runner, on another
 * replica by asking it over the event bus and waiting for its answer. Each replica answers
 * the asks addressed to it. Both topics are listened to for the relay's whole life: a
 * listener added per ask could miss an answer that comes back before it is in place.
 */
export class CancelRelay {
  private readonly events: EventBus;
  private readonly runner: OperationRunner;
  private readonly replica: ReplicaId;
  private readonly waiting = new Map<string, (outcome: CancelOutcome) => void>();

  constructor(events: EventBus, runner: OperationRunner, replica: ReplicaId) {
    this.events = events;
    this.runner = runner;
    this.replica = replica;
  }

  /** start answers the asks addressed to this replica and hears the answers to its own. */
  start(): () => void {
    const offAsks = this.events.listen('operationCancel', (a) => {
      if (a.replica !== this.replica) return;
      this.events.publish('operationCancelled', { ask: a.ask, outcome: this.runner.cancel(a.id) });
    });
    const offAnswers = this.events.listen('operationCancelled', (a) =>
      this.waiting.get(a.ask)?.(a.outcome),
    );
    return () => {
      offAsks();
      offAnswers();
    };
  }

  /** cancel cancels the operation on the replica that runs it (null: none does). */
  async cancel(id: OperationId, replica: ReplicaId | null): Promise<CancelOutcome> {
    if (replica === null) return { ok: false, reason: 'NOT_RUNNING' };
    if (replica === this.replica) return this.runner.cancel(id);
    const ask = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<CancelOutcome>((resolve) => {
        this.waiting.set(ask, resolve);
        timer = setTimeout(() => resolve({ ok: false, reason: 'NOT_RUNNING' }), ANSWER_MS);
        this.events.publish('operationCancel', { ask, id, replica });
      });
    } finally {
      clearTimeout(timer);
      this.waiting.delete(ask);
    }
  }
}
