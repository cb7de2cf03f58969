import type { EventBus } from '../events.ts';
import type { HostSync } from '../hosts/host-sync.ts';
import type { Replicas } from './replicas.ts';

/**
 * followHostChanges applies hosts added, changed or removed through any replica to this one's
 * monitor and shares them out again, as the bus tells of them; and compares every host every
 * `intervalSeconds` in case a change was missed (the bus was away). Returns how to stop.
 */
export function followHostChanges(
  events: EventBus,
  sync: HostSync,
  replicas: Replicas,
  intervalSeconds: number,
): () => Promise<void> {
  const warn = (err: unknown) =>
    process.emitWarning(`host changes: ${err instanceof Error ? err.message : String(err)}`);
  const changes = events.subscribe('hostChanged');
  const following = (async () => {
    for await (const hostId of changes) {
      await sync
        .host(hostId)
        .then(() => replicas.leases.balance())
        .catch(warn);
    }
  })();
  const timer = setInterval(() => void sync.all().catch(warn), intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await changes.return();
    await following;
  };
}
