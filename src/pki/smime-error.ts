/**
 * SmimeErrorCode says why an S/MIME message was refused:
 * - `NOT_SIGNED`: it is not an S/MIME signed message at all (plain JSON, another MIME type);
 * - `MALFORMED`: it claims to be one but its MIME structure or PKCS#7 data cannot be read;
 * - `BAD_SIGNATURE`: the content or the signature was altered after signing;
 * - `UNTRUSTED`: the signer's certificate does not lead to one of the trusted CAs;
 * - `CERTIFICATE_EXPIRED`: the signer's or a chain certificate is not valid at the time asked.
 */
export type SmimeErrorCode =
  | 'NOT_SIGNED'
  | 'MALFORMED'
  | 'BAD_SIGNATURE'
  | 'UNTRUSTED'
  | 'CERTIFICATE_EXPIRED';

/** SmimeError is every refusal of verifySmime, with a message for the administrator. */
export class SmimeError extends Error {
  override readonly name = 'SmimeError';
  readonly code: SmimeErrorCode;

  constructor(code: SmimeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
