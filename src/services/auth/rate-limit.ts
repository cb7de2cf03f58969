/** RateLimitDecision says whether an attempt may proceed and, if not, when to retry. */
export type RateLimitDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * RateLimiter counts failures per key in a sliding window. Sign-in uses two: one keyed by
 * account, one by address, so neither spraying one account from many addresses nor many
 * accounts from one address gets through; successes do not count, so many people behind one
 * address can still sign in. MemoryRateLimiter keeps the counts in this process,
 * RedisRateLimiter shares them among replicas; both decide alike.
 */
export interface RateLimiter {
  /** check says whether `key` may try now, without counting anything. */
  check(key: string): Promise<RateLimitDecision>;
  /** fail counts one failure for `key`. */
  fail(key: string): Promise<void>;
  /** reset forgets a key (after a successful sign-in, the account's failures no longer count). */
  reset(key: string): Promise<void>;
}

/** RateLimitWindow is a limiter's rule: at most `limit` failures in any `windowMs`. */
export interface RateLimitWindow {
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * decide is the one rule both limiters apply, given how many failures fall in the window ending
 * at `now` and when the oldest of them was: refused at the limit, until the oldest leaves it.
 */
export function decide(
  w: RateLimitWindow,
  now: number,
  recent: number,
  oldest: number,
): RateLimitDecision {
  if (recent < w.limit) return { allowed: true };
  return {
    allowed: false,
    retryAfterSeconds: Math.max(1, Math.ceil((oldest + w.windowMs - now) / 1000)),
  };
}

/** MemoryRateLimiter is a RateLimiter of one process: timestamps per key. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly attempts = new Map<string, number[]>();
  private readonly window: RateLimitWindow;
  private readonly now: () => number;

  constructor(limit: number, windowSeconds: number, now: () => number = Date.now) {
    this.window = { limit, windowMs: windowSeconds * 1000 };
    this.now = now;
  }

  async check(key: string): Promise<RateLimitDecision> {
    const t = this.now();
    const recent = this.recent(key, t);
    return decide(this.window, t, recent.length, recent[0] ?? t);
  }

  async fail(key: string): Promise<void> {
    const t = this.now();
    const recent = this.recent(key, t);
    recent.push(t);
    this.attempts.set(key, recent);
    if (this.attempts.size > 10_000) this.sweep(t);
  }

  async reset(key: string): Promise<void> {
    this.attempts.delete(key);
  }

  private recent(key: string, t: number): number[] {
    return (this.attempts.get(key) ?? []).filter((at) => t - at < this.window.windowMs);
  }

  private sweep(t: number): void {
    for (const [key, times] of this.attempts) {
      if (times.every((at) => t - at >= this.window.windowMs)) this.attempts.delete(key);
    }
  }
}
