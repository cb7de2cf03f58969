import { LibvirtError, type LibvirtErrorDetails, type LibvirtErrorKind } from '../errors.ts';

/**
 * TransportFailure says why a channel to a daemon could not be opened, so that callers map it
 * to their own codes without reading messages:
 * - `unreachable`: nothing answered, or the connection was refused or timed out;
 * - `untrusted-server`: the daemon's certificate is not signed by our CA or names another host;
 * - `client-refused`: the daemon refused our client certificate;
 * - `host-key-mismatch`: the SSH host offered a key other than the pinned one;
 * - `host-key-unknown`: no host key is pinned for the SSH host;
 * - `client-auth`: the SSH server did not accept our key;
 * - `credentials`: our own credentials are missing or unreadable.
 */
export type TransportFailure =
  | 'unreachable'
  | 'untrusted-server'
  | 'client-refused'
  | 'host-key-mismatch'
  | 'host-key-unknown'
  | 'client-auth'
  | 'credentials';

/** TransportErrorDetails add what the SSH host offered to the usual details. */
export interface TransportErrorDetails extends LibvirtErrorDetails {
  /** offeredHostKey is the fingerprint the SSH host presented, when it got that far. */
  readonly offeredHostKey?: string;
}

/** TransportError is a LibvirtError of a transport kind that also names its TransportFailure. */
export class TransportError extends LibvirtError {
  readonly failure: TransportFailure;
  readonly offeredHostKey: string | undefined;

  constructor(
    kind: LibvirtErrorKind,
    failure: TransportFailure,
    message: string,
    details: TransportErrorDetails = {},
  ) {
    super(kind, message, details);
    this.failure = failure;
    this.offeredHostKey = details.offeredHostKey;
  }
}
