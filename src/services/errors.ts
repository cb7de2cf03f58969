/**
 * SERVICE_ERROR_CODES are the stable codes of ServiceError. The schema shows them to clients:
 * FORBIDDEN and UNAUTHENTICATED as top-level errors, the others as `userErrors` in payloads.
 */
export const SERVICE_ERROR_CODES = [
  'NOT_FOUND',
  'CONFLICT',
  'INVALID',
  'INVALID_STATE',
  'INVALID_CREDENTIALS',
  'RATE_LIMITED',
  'REFUSED',
  'UNAVAILABLE',
  'QUOTA_EXCEEDED',
  'FORBIDDEN',
  'UNAUTHENTICATED',
] as const;

/** ServiceErrorCode says what kind of expected failure a ServiceError is. */
export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/** QuotaBreach is what a QUOTA_EXCEEDED error names: which limit, its value, the use now, and what was asked for. */
export interface QuotaBreach {
  readonly limit: string;
  readonly max: bigint;
  readonly used: bigint;
  readonly requested: bigint;
}

/** ServiceErrorDetails are the figures some refusals carry for the client to act on. */
export interface ServiceErrorDetails {
  /** quota is the limit a QUOTA_EXCEEDED error ran into. */
  readonly quota?: QuotaBreach;
  /** offeredHostKey is the SSH host key fingerprint a host offered that is not the pinned one. */
  readonly offeredHostKey?: string;
}

/** ServiceError is the one error type of the services layer: an expected failure that says what to do. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ServiceErrorCode;
  /** field names the input field at fault, when one is (`input.email`). */
  readonly field: string | null;
  readonly details: ServiceErrorDetails;

  constructor(
    code: ServiceErrorCode,
    message: string,
    field: string | null = null,
    details: ServiceErrorDetails = {},
  ) {
    super(message);
    this.code = code;
    this.field = field;
    this.details = details;
  }
}

/** isServiceError narrows an unknown thrown value. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof ServiceError;
}
