/**
 * LibvirtErrorKind says where a libvirt operation failed:
 * - `remote`: the daemon answered with an error (see code and domain);
 * - `timeout`: no reply came within the call's timeout;
 * - `closed`: the connection was closed, by us or by the peer;
 * - `keepalive`: the peer stopped answering keepalive pings;
 * - `protocol`: the peer sent bytes that are not libvirt's protocol;
 * - `transport`: the connection could not be made (refused, unreachable);
 * - `tls` / `ssh`: the secure channel failed (certificates, host key, authentication);
 * - `auth`: the daemon wants an authentication method Kumo does not speak;
 * - `aborted`: the caller's AbortSignal fired;
 * - `uri`: the connection URI is malformed or asks for something unsafe.
 */
export type LibvirtErrorKind =
  | 'remote'
  | 'timeout'
  | 'closed'
  | 'keepalive'
  | 'protocol'
  | 'transport'
  | 'tls'
  | 'ssh'
  | 'auth'
  | 'aborted'
  | 'uri';

/** LibvirtErrorDetails carries what the daemon said about a `remote` error. */
export interface LibvirtErrorDetails {
  /** code is libvirt's virErrorNumber (ErrorCode below). */
  readonly code?: number;
  /** domain is libvirt's virErrorDomain (which subsystem raised it). */
  readonly domain?: number;
  /** procedure is the name of the call that failed, when there was one. */
  readonly procedure?: string;
  readonly cause?: unknown;
}

/** LibvirtError is the one error type of the libvirt layer. */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';
  readonly kind: LibvirtErrorKind;
  readonly code: number | undefined;
  readonly domain: number | undefined;
  readonly procedure: string | undefined;

  constructor(kind: LibvirtErrorKind, message: string, details: LibvirtErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.code = details.code;
    this.domain = details.domain;
    this.procedure = details.procedure;
  }
}

/** ErrorCode holds the virErrorNumber values Kumo acts on (libvirt's virerror.h). */
export const ErrorCode = {
  INTERNAL_ERROR: 1,
  NO_SUPPORT: 3,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  NO_NETWORK: 43,
  AUTH_FAILED: 45,
  NO_STORAGE_POOL: 49,
  NO_STORAGE_VOL: 50,
  OPERATION_INVALID: 55,
  OPERATION_TIMEOUT: 68,
  NO_DOMAIN_SNAPSHOT: 72,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_ABORTED: 78,
  OPERATION_UNSUPPORTED: 84,
  STORAGE_VOL_EXIST: 90,
} as const;

const NOT_FOUND_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NO_DOMAIN,
  ErrorCode.NO_NETWORK,
  ErrorCode.NO_STORAGE_POOL,
  ErrorCode.NO_STORAGE_VOL,
  ErrorCode.NO_DOMAIN_SNAPSHOT,
]);

/** isLibvirtError narrows an unknown thrown value. */
export function isLibvirtError(err: unknown): err is LibvirtError {
  return err instanceof LibvirtError;
}

/** isNotFound says the daemon reported that the named object does not exist. */
export function isNotFound(err: unknown): boolean {
  return isLibvirtError(err) && err.kind === 'remote' && NOT_FOUND_CODES.has(err.code ?? -1);
}

/** isUnsupported says the daemon does not know the procedure or feature (newer than it). */
export function isUnsupported(err: unknown): boolean {
  if (!isLibvirtError(err) || err.kind !== 'remote') return false;
  if (err.code === ErrorCode.NO_SUPPORT || err.code === ErrorCode.OPERATION_UNSUPPORTED)
    return true;
  return err.code === ErrorCode.RPC && /unknown procedure/.test(err.message);
}

/** isConnectionLost says the connection is gone and a new one is needed. */
export function isConnectionLost(err: unknown): boolean {
  return isLibvirtError(err) && (err.kind === 'closed' || err.kind === 'keepalive');
}
