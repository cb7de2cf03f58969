import { ErrorCode, isLibvirtError, isNotFound, isUnsupported } from '../libvirt/errors.ts';
import { TransportError, type TransportFailure } from '../libvirt/transport/failure.ts';

/**
 * DriverErrorCode is the stable code of a driver failure; the API shows it to admins:
 * - `INVALID_URI`: the URI is malformed, unsafe, or carries credentials that belong elsewhere;
 * - `UNSUPPORTED_SCHEME`: no driver is registered for the URI's scheme;
 * - `INVALID_CREDENTIALS`: the credentials are of the wrong kind, malformed or unreadable;
 * - `UNREACHABLE`: nothing answered, the connection was refused, or it timed out;
 * - `TLS_UNTRUSTED`: the host's certificate is not signed by the given CA, or names another host;
 * - `AUTH_FAILED`: the host refused our client certificate or SSH key;
 * - `AUTH_UNSUPPORTED`: the daemon asks for an authentication Kumo does not speak (SASL);
 * - `HOST_KEY_UNKNOWN`: no SSH host key is pinned yet (the error carries the offered one);
 * - `HOST_KEY_MISMATCH`: the SSH host offered a key other than the pinned one;
 * - `CONNECTION_LOST`: an open connection closed or stopped answering keepalives;
 * - `TIMEOUT`: a call got no reply in time;
 * - `ABORTED`: the caller gave up (its AbortSignal fired);
 * - `PROTOCOL`: the peer does not speak libvirt's protocol;
 * - `NOT_FOUND`: the daemon does not know the object (a storage pool by name);
 * - `UNSUPPORTED`: the daemon lacks the procedure or feature;
 * - `REMOTE`: the daemon refused the call (its message says why);
 * - `DRIVER_LOAD_FAILED`: a driver package could not be loaded or registered.
 */
export type DriverErrorCode =
  | 'INVALID_URI'
  | 'UNSUPPORTED_SCHEME'
  | 'INVALID_CREDENTIALS'
  | 'UNREACHABLE'
  | 'TLS_UNTRUSTED'
  | 'AUTH_FAILED'
  | 'AUTH_UNSUPPORTED'
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_MISMATCH'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'PROTOCOL'
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  | 'REMOTE'
  | 'DRIVER_LOAD_FAILED';

/** DriverErrorOptions carry the cause and, for host key errors, the key the host offered. */
export interface DriverErrorOptions {
  readonly cause?: unknown;
  /** hostKey is the fingerprint the SSH host offered (`SHA256:...`), for the admin to confirm. */
  readonly hostKey?: string;
}

/**
 * DriverError is the one error type of the driver layer. Its message says what was wrong and
 * what to check; it never contains credentials (keys, certificates), only names and paths.
 */
export class DriverError extends Error {
  override readonly name = 'DriverError';
  readonly code: DriverErrorCode;
  readonly hostKey: string | undefined;

  constructor(code: DriverErrorCode, message: string, opts: DriverErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.hostKey = opts.hostKey;
  }
}

/** isDriverError narrows an unknown thrown value, optionally to one code. */
export function isDriverError(err: unknown, code?: DriverErrorCode): err is DriverError {
  return err instanceof DriverError && (code === undefined || err.code === code);
}

/**
 * Phase says when an error happened: while connecting (a lost channel then means the host is
 * unreachable) or on an open session (it means the connection was lost).
 */
export type Phase = 'connect' | 'session';

const FAILURES: Record<TransportFailure, DriverErrorCode> = {
  unreachable: 'UNREACHABLE',
  'untrusted-server': 'TLS_UNTRUSTED',
  'client-refused': 'AUTH_FAILED',
  'host-key-mismatch': 'HOST_KEY_MISMATCH',
  'host-key-unknown': 'HOST_KEY_UNKNOWN',
  'client-auth': 'AUTH_FAILED',
  credentials: 'INVALID_CREDENTIALS',
};

// What to check, per code; appended to the lower layer's message unless it already advises.
const HINTS: Partial<Record<DriverErrorCode, string>> = {
  UNREACHABLE:
    'check that the host is up, that libvirtd runs and listens (TLS 16514, or sshd on 22), and that no firewall is in the way',
  TLS_UNTRUSTED: 'check that the CA given is the one that signed the host certificate',
  AUTH_FAILED:
    'check that the host trusts these credentials (CA and tls_allowed_dn_list, or authorized_keys)',
  HOST_KEY_UNKNOWN: 'confirm the offered host key fingerprint, then add the host with it pinned',
  CONNECTION_LOST: 'the controller reconnects by itself',
};

/** toDriverError maps any failure below the driver layer to a DriverError naming `where`. */
export function toDriverError(err: unknown, where: string, phase: Phase): DriverError {
  if (err instanceof DriverError) return err;
  const code = codeOf(err, phase);
  const detail = err instanceof Error ? err.message : String(err);
  const hint = HINTS[code];
  const message = hint && !/check|confirm/.test(detail) ? `${detail}; ${hint}` : detail;
  const hostKey = err instanceof TransportError ? err.offeredHostKey : undefined;
  return new DriverError(code, `${where}: ${message}`, {
    cause: err,
    ...(hostKey ? { hostKey } : {}),
  });
}

function codeOf(err: unknown, phase: Phase): DriverErrorCode {
  if (err instanceof TransportError) return FAILURES[err.failure];
  if (!isLibvirtError(err)) return 'REMOTE';
  switch (err.kind) {
    case 'uri':
      return 'INVALID_URI';
    case 'auth':
      return 'AUTH_UNSUPPORTED';
    case 'protocol':
      return 'PROTOCOL';
    case 'timeout':
      return phase === 'connect' ? 'UNREACHABLE' : 'TIMEOUT';
    case 'closed':
    case 'keepalive':
      return phase === 'connect' ? 'UNREACHABLE' : 'CONNECTION_LOST';
    case 'transport':
    case 'tls':
    case 'ssh':
      return 'UNREACHABLE';
    case 'aborted':
      return 'ABORTED';
    case 'remote':
      if (isNotFound(err)) return 'NOT_FOUND';
      if (isUnsupported(err)) return 'UNSUPPORTED';
      return err.code === ErrorCode.AUTH_FAILED ? 'AUTH_FAILED' : 'REMOTE';
  }
}
