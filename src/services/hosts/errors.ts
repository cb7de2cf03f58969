/**
 * HostMonitorErrorCode is the stable code of a HostMonitor failure:
 * - `UNKNOWN_HOST`: no host with that id is monitored;
 * - `DUPLICATE_HOST`: a host with that id is monitored already;
 * - `NOT_CONNECTED`: the host has no open session now (OFFLINE or DISABLED);
 * - `CLOSED`: the monitor was closed.
 */
export type HostMonitorErrorCode = 'UNKNOWN_HOST' | 'DUPLICATE_HOST' | 'NOT_CONNECTED' | 'CLOSED';

/** HostMonitorError is what the HostMonitor throws for requests it cannot serve. */
export class HostMonitorError extends Error {
  override readonly name = 'HostMonitorError';
  readonly code: HostMonitorErrorCode;
  readonly hostId: string | undefined;

  constructor(code: HostMonitorErrorCode, message: string, hostId?: string) {
    super(message);
    this.code = code;
    this.hostId = hostId;
  }
}
