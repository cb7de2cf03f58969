/** RateLimitDecision says whether an attempt may proceed and, if not, when to retry. */
export type RateLimitDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * RateLimiter counts failures per key in a sliding window (timestamps per key). Sign-in uses
 * two: one keyed by account, one by address, so neither spraying one account from many
 * addresses nor many accounts from one address gets through; successes do not count, so many
 * people behind one address can still sign in. State is per process.
 */
export class RateLimiter {
  private readonly attempts = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(limit: number, windowSeconds: number, now: () => number = Date.now) {
    this.limit = limit;
    this.windowMs = windowSeconds * 1000;
    this.now = now;
  }

  /** check says whether `key` may try now, without counting anything. */
  check(key: string): RateLimitDecision {
    const t = this.now();
    const recent = this.recent(key, t);
    if (recent.length < this.limit) return { allowed: true };
    const oldest = recent[0] as number;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.windowMs - t) / 1000)),
    };
  }

  /** fail counts one failure for `key`. */
  fail(key: string): void {
    const t = this.now();
    const recent = this.recent(key, t);
    recent.push(t);
    this.attempts.set(key, recent);
    if (this.attempts.size > 10_000) this.sweep(t);
  }

  /** reset forgets a key (after a successful sign-in, the account's failures no longer count). */
  reset(key: string): void {
    this.attempts.delete(key);
  }

  private recent(key: string, t: number): number[] {
    return (this.attempts.get(key) ?? []).filter((at) => t - at < this.windowMs);
  }

  private sweep(t: number): void {
    for (const [key, times] of this.attempts) {
      if (times.every((at) => t - at >= this.windowMs)) this.attempts.delete(key);
    }
  }
}
