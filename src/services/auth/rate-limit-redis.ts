import { randomBytes } from 'node:crypto';
import type { RedisLink } from '../replicas/redis.ts';
import { transaction } from '../replicas/transaction.ts';
import {
  decide,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitWindow,
} from './rate-limit.ts';

/**
 * RedisRateLimiter is a RateLimiter shared by every replica: a sorted set per key
 * (`<prefix>rate:<name>:<key>`) of failure times, trimmed to the window and expiring with it.
 * Times come from the replica's clock, as MemoryRateLimiter's do.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly link: RedisLink;
  private readonly name: string;
  private readonly window: RateLimitWindow;
  private readonly now: () => number;

  /** name tells this limiter's keys from other limiters'. */
  constructor(
    link: RedisLink,
    name: string,
    limit: number,
    windowSeconds: number,
    now: () => number = Date.now,
  ) {
    this.link = link;
    this.name = name;
    this.window = { limit, windowMs: windowSeconds * 1000 };
    this.now = now;
  }

  async check(key: string): Promise<RateLimitDecision> {
    const t = this.now();
    const k = this.key(key);
    // Failures strictly after t - window are in it, as `t - at < windowMs` says in memory.
    const since = `(${t - this.window.windowMs}`;
    const [count, first] = await transaction(
      this.link.commands
        .multi()
        .zcount(k, since, '+inf')
        .zrangebyscore(k, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
    );
    const oldest = Array.isArray(first) ? Number(first[1] ?? t) : t;
    return decide(this.window, t, Number(count), oldest);
  }

  async fail(key: string): Promise<void> {
    const t = this.now();
    const k = this.key(key);
    // Two failures in one millisecond are two members.
    const member = `${t}:${randomBytes(6).toString('base64url')}`;
    await transaction(
      this.link.commands
        .multi()
        .zremrangebyscore(k, '-inf', t - this.window.windowMs)
        .zadd(k, t, member)
        .pexpire(k, Math.ceil(this.window.windowMs)),
    );
  }

  async reset(key: string): Promise<void> {
    await this.link.commands.del(this.key(key));
  }

  private key(key: string): string {
    return `${this.link.prefix}rate:${this.name}:${key}`;
  }
}
