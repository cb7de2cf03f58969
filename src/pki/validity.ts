/** Validity options shared by every certificate Kumo issues. */
export interface ValidityOptions {
  /** notBefore is when the certificate starts to be valid. @default five minutes ago */
  readonly notBefore?: Date;
  /** notAfter is when it stops; explicit dates win over validityDays. */
  readonly notAfter?: Date;
  /** validityDays is the lifetime from notBefore when notAfter is not given. */
  readonly validityDays?: number;
}

// Hosts whose clocks run a little behind the controller's still accept a fresh certificate.
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/** validity resolves the options to explicit dates, whole seconds as X.509 stores them. */
export function validity(
  opts: ValidityOptions,
  defaultDays: number,
): { notBefore: Date; notAfter: Date } {
  const days = opts.validityDays ?? defaultDays;
  if (!(days > 0)) throw new Error(`validity must be a positive number of days, not ${days}`);
  const start = opts.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const end = opts.notAfter ?? new Date(start.getTime() + days * DAY_MS);
  const notBefore = new Date(Math.floor(start.getTime() / 1000) * 1000);
  const notAfter = new Date(Math.floor(end.getTime() / 1000) * 1000);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new Error('notBefore and notAfter must be valid dates');
  }
  if (notAfter <= notBefore) {
    throw new Error(
      `notAfter (${notAfter.toISOString()}) must be after notBefore (${notBefore.toISOString()})`,
    );
  }
  return { notBefore, notAfter };
}

/** randomSerial is a random 16-byte positive serial number, as hex. */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // Top bit clear keeps it positive; the next bit set keeps DER from trimming it to 15 bytes.
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}
