import type { HostId } from '../../entities/ids.ts';
import type { EventBus } from '../events.ts';
import type { HostSync } from '../hosts/host-sync.ts';
import type { Replicas } from './replicas.ts';

/**
 * followHostChanges applies hosts added, changed or removed through any replica to this one's
 * monitor and shares them out again, as the bus tells of them; and compares every host every
 * `intervalSeconds` in case a change was missed (the bus was away). Changes told while others
 * are being applied wait as a set (a host changed twice is applied once), so a burst of them
 * (thousands of hosts added) costs memory for their ids only. Returns how to stop.
 */
export function followHostChanges(
  events: EventBus,
  sync: HostSync,
  replicas: Replicas,
  intervalSeconds: number,
): () => Promise<void> {
  const warn = (err: unknown) =>
    process.emitWarning(`host changes: ${err instanceof Error ? err.message : String(err)}`);
  const pending = new Set<HostId>();
  let applying: Promise<void> | null = null;
  const apply = async () => {
    while (pending.size > 0) {
      const ids = [...pending];
      pending.clear();
      for (const id of ids) await sync.host(id).catch(warn);
      await replicas.leases.balance().catch(warn);
    }
  };
  const off = events.listen('hostChanged', (hostId) => {
    pending.add(hostId);
    applying ??= apply().finally(() => {
      applying = null;
    });
  });
  const timer = setInterval(() => void sync.all().catch(warn), intervalSeconds * 1000);
  timer.unref();
  return async () => {
    off();
    clearInterval(timer);
    pending.clear();
    await applying;
  };
}
