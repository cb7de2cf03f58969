import type { HostId } from '../../entities/ids.ts';

/** WatchEvent: a host this process now looks after (gained), or no longer does (lost). */
export type WatchEvent = 'gained' | 'lost';

/**
 * HostWatch says which hosts this controller process looks after: watches their domain
 * events, sweeps and meters their VMs, records their state. Every process keeps a session to
 * every host for the requests it serves, but among several replicas only one looks after each
 * host (services/replicas/host-leases.ts).
 */
export interface HostWatch {
  holds(hostId: string): boolean;
  on(event: WatchEvent, listener: (hostId: HostId) => void): () => void;
}
