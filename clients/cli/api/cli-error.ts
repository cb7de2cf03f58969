/**
 * CliErrorKind says what went wrong, and so the exit status: USAGE (2) the command line is
 * wrong; REFUSED (1) the server refused or the operation failed; NETWORK (3) the server cannot
 * be reached; AUTH (4) not signed in or not allowed; NOT_FOUND (5) no such resource;
 * INTERRUPTED (130, as shells report Ctrl-C) stopped waiting at Ctrl-C.
 */
export type CliErrorKind = 'USAGE' | 'REFUSED' | 'NETWORK' | 'AUTH' | 'NOT_FOUND' | 'INTERRUPTED';

/** EXIT_STATUS is the exit status of each kind of failure (0 is success). */
export const EXIT_STATUS: Record<CliErrorKind, number> = {
  REFUSED: 1,
  USAGE: 2,
  NETWORK: 3,
  AUTH: 4,
  NOT_FOUND: 5,
  INTERRUPTED: 130,
};

/** CliError is the one error type of the CLI: what to print, and what to do about it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly kind: CliErrorKind;
  /** field is the input the server found at fault (`input.memoryBytes`), when it names one. */
  readonly field: string | null;
  /** hint says what to do next (`run kumo login`). */
  readonly hint: string | null;

  constructor(
    kind: CliErrorKind,
    message: string,
    opts: { field?: string | null; hint?: string | null } = {},
  ) {
    super(message);
    this.kind = kind;
    this.field = opts.field ?? null;
    this.hint = opts.hint ?? null;
  }
}
