import type { EntityManager } from '@mikro-orm/core';
import { Host } from '../../entities/host.ts';
import type { HostId } from '../../entities/ids.ts';
import type { HostMonitor } from './host-monitor.ts';
import type { HostStateChange } from './types.ts';

/** HostStateListener receives host state changes once they are recorded. */
export type HostStateListener = (change: HostStateChange) => void;

/**
 * recordHostEvents keeps the hosts table in step with the monitor (state, last error, last
 * seen, facts) and then tells `published` about each change of the recorded state. Each event
 * is written on a unit of work of its own; a failed write is reported, never thrown at the
 * monitor.
 */
export function recordHostEvents(
  monitor: HostMonitor,
  fork: () => EntityManager,
  published: HostStateListener,
): () => void {
  const offState = monitor.on('stateChanged', (change) => {
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
  });
  const offFacts = monitor.on('factsChanged', (change) => {
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
    offFacts();
  };
}
