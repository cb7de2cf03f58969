import type { HostMonitor } from '../../src/services/hosts/host-monitor.ts';
import type {
  HostFactsChange,
  HostState,
  HostStateChange,
} from '../../src/services/hosts/types.ts';

/**
 * nextState resolves with the next change of `hostId` to `state`; subscribe before causing it.
 * It rejects after `ms`, naming what it waited for and where the host is instead.
 */
export function nextState(
  monitor: HostMonitor,
  hostId: string,
  state: HostState,
  ms: number,
): Promise<HostStateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      const s = monitor.status(hostId);
      reject(
        new Error(`${hostId} did not become ${state} within ${ms} ms (${s.state}: ${s.reason})`),
      );
    }, ms);
    const off = monitor.on('stateChanged', (e) => {
      if (e.hostId !== hostId || e.state !== state) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

/** nextFacts resolves with the next factsChanged of `hostId`. */
export function nextFacts(
  monitor: HostMonitor,
  hostId: string,
  ms: number,
): Promise<HostFactsChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no facts for ${hostId} within ${ms} ms`));
    }, ms);
    const off = monitor.on('factsChanged', (e) => {
      if (e.hostId !== hostId) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
