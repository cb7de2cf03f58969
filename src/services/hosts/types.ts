import type { HostCredentials } from '../../drivers/credentials.ts';
import type { DriverError, DriverErrorCode } from '../../drivers/errors.ts';
import type { HostFacts, HostMetrics, HypervisorSession } from '../../drivers/session.ts';

/**
 * HostState is a host's state as the API shows it. ONLINE and OFFLINE follow the connection;
 * DISABLED and MAINTENANCE are set by an admin and win over it.
 */
export type HostState = 'ONLINE' | 'OFFLINE' | 'DISABLED' | 'MAINTENANCE' | 'EVACUATING';

/**
 * AdminState is what an admin may set: DISABLED (the monitor disconnects and does not
 * reconnect) or MAINTENANCE (the monitor stays connected, so VMs can be moved off, but the host
 * takes no new ones); EVACUATING is MAINTENANCE while its VMs are being moved away.
 */
export type AdminState = 'DISABLED' | 'MAINTENANCE' | 'EVACUATING';

/** AdminHold is an admin-set state with the reason the admin gave. */
export interface AdminHold {
  readonly state: AdminState;
  readonly reason: string;
}

/** OpenedSession is a session opened (and its facts read) before the monitor took the host. */
export interface OpenedSession {
  readonly session: HypervisorSession;
  readonly facts: HostFacts;
}

/** MonitoredHost is what the monitor needs to keep a host connected (a HostService row's worth). */
export interface MonitoredHost {
  readonly id: string;
  readonly uri: string;
  readonly credentials: HostCredentials;
  /** storagePool makes the storage facts those of this pool rather than of every active pool. */
  readonly storagePool?: string;
  /** admin is the admin-set state the host starts in, if any. */
  readonly admin?: AdminHold;
}

/** HostStateChange is emitted as `stateChanged` whenever a host's HostState changes. */
export interface HostStateChange {
  readonly hostId: string;
  readonly state: HostState;
  readonly previous: HostState;
  /** reason says why, for people: the admin's reason, or what the connection failure was. */
  readonly reason: string;
  /** code is the DriverError code when a failure caused the change. */
  readonly code?: DriverErrorCode;
  readonly at: Date;
}

/** HostFactsChange is emitted as `factsChanged` when a (re)connect reads facts that differ. */
export interface HostFactsChange {
  readonly hostId: string;
  readonly facts: HostFacts;
  readonly previous: HostFacts | null;
  readonly at: Date;
}

/** HostMetricsSample is one host's metrics, as a metrics feed yields them. */
export interface HostMetricsSample {
  readonly hostId: string;
  readonly metrics: HostMetrics;
}

/** HostStatus is everything the monitor knows about one host right now. */
export interface HostStatus {
  readonly hostId: string;
  readonly state: HostState;
  readonly reason: string;
  /** since is when the state last changed. */
  readonly since: Date;
  readonly connected: boolean;
  /** placeable says the scheduler may put new VMs there (ONLINE, not held by an admin). */
  readonly placeable: boolean;
  readonly admin: AdminHold | null;
  /** facts are the last facts read; they survive a disconnection. */
  readonly facts: HostFacts | null;
  readonly lastError: DriverError | null;
  /** failures counts connection attempts that failed since the last success. */
  readonly failures: number;
  /** nextAttemptAt is when the monitor will try again, or null (connected, held, or needs an admin). */
  readonly nextAttemptAt: Date | null;
}

/** HostSessionLost says a host's connection ended (whatever an admin hold shows as its state). */
export interface HostSessionLost {
  readonly hostId: string;
  readonly reason: string;
  readonly at: Date;
}

/** HostMonitorEvents maps each event of the HostMonitor to its payload. */
export interface HostMonitorEvents {
  stateChanged: HostStateChange;
  factsChanged: HostFactsChange;
  sessionLost: HostSessionLost;
}
