/** BackoffOptions shape the delays between reconnection attempts. */
export interface BackoffOptions {
  /** initialMs is the delay before the first retry. @default 500 */
  readonly initialMs: number;
  /** maxMs caps the delay. @default 30000 */
  readonly maxMs: number;
  /** factor multiplies the delay after each failed attempt. @default 2 */
  readonly factor: number;
  /**
   * jitter is the fraction of each delay that is random (0..1), so hosts lost together (a
   * controller network blip) do not all come back in the same instant. @default 0.5
   */
  readonly jitter: number;
}

/** DEFAULT_BACKOFF retries after 0.25-0.5 s, then doubles up to 15-30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.5,
};

/**
 * backoffDelay is the wait before retry number `attempt` (0 for the first): exponential,
 * capped at maxMs, with the top `jitter` part of it random.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** Math.max(0, attempt));
  return Math.round(base * (1 - opts.jitter * random()));
}
