import type { EntityManager } from '@mikro-orm/core';
import { Host } from '../../entities/host.ts';
import type { HostId } from '../../entities/ids.ts';
import type { HostMonitor } from './host-monitor.ts';
import type { HostWatch } from './host-watch.ts';
import type { HostStateChange } from './types.ts';

/** HostStateListener receives host state changes once they are recorded. */
export type HostStateListener = (change: HostStateChange) => void;

/**
 * recordHostEvents keeps the hosts table in step with the monitor (state, last error, last
 * seen, facts) for the hosts this process looks after, and then tells `published` about each
 * change of the recorded state. A host taken over is recorded as this process sees it. Each
 * event is written on a unit of work of its own; a failed write is reported, never thrown at
 * the monitor.
 */
export function recordHostEvents(
  monitor: HostMonitor,
  watch: HostWatch,
  fork: () => EntityManager,
  published: HostStateListener,
): () => void {
  const record = (change: Omit<HostStateChange, 'previous'>) => {
    if (!watch.holds(change.hostId)) return;
    void (async () => {
      const em = fork();
      const host = await em.findOne(Host, { id: change.hostId as HostId });
      if (!host) return;
      // The monitor starts every host OFFLINE, while hostAdd has already recorded it ONLINE:
      // subscribers hear of changes to the recorded state, from the recorded state.
      const previous = host.state;
      host.state = change.state;
      host.lastError = change.state === 'OFFLINE' ? change.reason : null;
      if (change.state === 'ONLINE') host.lastSeenAt = change.at;
      await em.flush();
      if (previous !== change.state) published({ ...change, previous });
    })().catch((err: unknown) =>
      process.emitWarning(`recording the state of host ${change.hostId}: ${String(err)}`),
    );
  };
  const offState = monitor.on('stateChanged', record);
  // A host not tried yet shows OFFLINE ("not connected yet"): its first attempt reports itself.
  const offGained = watch.on('gained', (hostId) => {
    const status = monitor.status(hostId);
    if (status.connected || status.admin || status.lastError)
      record({ hostId, state: status.state, reason: status.reason, at: new Date() });
  });
  const offFacts = monitor.on('factsChanged', (change) => {
    if (!watch.holds(change.hostId)) return;
    void fork()
      .nativeUpdate(
        Host,
        { id: change.hostId as HostId },
        { facts: change.facts, lastSeenAt: change.at },
      )
      .catch((err: unknown) =>
        process.emitWarning(`recording the facts of host ${change.hostId}: ${String(err)}`),
      );
  });
  return () => {
    offState();
    offGained();
    offFacts();
  };
}
