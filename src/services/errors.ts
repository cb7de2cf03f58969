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

/** ServiceError is the one error type of the services layer: an expected failure that says what to do. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ServiceErrorCode;
  /** field names the input field at fault, when one is (`input.email`). */
  readonly field: string | null;

  constructor(code: ServiceErrorCode, message: string, field: string | null = null) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

/** isServiceError narrows an unknown thrown value. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof ServiceError;
}
