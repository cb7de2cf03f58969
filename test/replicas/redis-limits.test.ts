// Sign-in limits over Redis: failures counted on one replica refuse on another, as in memory.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { MemoryRateLimiter, type RateLimiter } from '../../src/services/auth/rate-limit.ts';
import { RedisRateLimiter } from '../../src/services/auth/rate-limit-redis.ts';
import type { RedisLink } from '../../src/services/replicas/redis.ts';
import { openReplicaLinks } from '../redis/links.ts';

const url = inject('redisUrl');

// The scenario of the in-memory limiter's test, with each step on either of two limiters.
async function scenario(
  on: (i: number) => RateLimiter,
  setNow: (t: number) => void,
): Promise<void> {
  setNow(0);
  for (let i = 0; i < 3; i++) {
    expect((await on(i).check('a')).allowed).toBe(true);
    await on(i).fail('a');
  }
  expect(await on(0).check('a')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  expect(await on(1).check('a')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  expect((await on(1).check('b')).allowed).toBe(true);
  setNow(30_000);
  expect(await on(1).check('a')).toEqual({ allowed: false, retryAfterSeconds: 30 });
  setNow(59_999);
  expect(await on(0).check('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  setNow(60_000);
  expect((await on(0).check('a')).allowed).toBe(true);
  await on(0).fail('a');
  await on(1).fail('a');
  expect((await on(0).check('a')).allowed).toBe(true);
  await on(1).fail('a');
  expect(await on(0).check('a')).toEqual({ allowed: false, retryAfterSeconds: 60 });
  await on(1).reset('a');
  expect((await on(0).check('a')).allowed).toBe(true);
}

describe('sign-in limits', () => {
  it('decide in memory as the scenario says', async () => {
    let t = 0;
    const rl = new MemoryRateLimiter(3, 60, () => t);
    await scenario(
      () => rl,
      (now) => {
        t = now;
      },
    );
  });

  describe.skipIf(url === null)('over Redis', () => {
    const links: RedisLink[] = [];
    afterEach(async () => {
      await Promise.all(links.splice(0).map((l) => l.close()));
    });

    async function pair(limit: number, windowSeconds: number, now?: () => number) {
      const opened = await openReplicaLinks(url as string, 2);
      links.push(...opened);
      return opened.map((l) => new RedisRateLimiter(l, 'sign-in', limit, windowSeconds, now));
    }

    it('decide alike, whichever replica counts or asks', async () => {
      let t = 0;
      const limiters = await pair(3, 60, () => t);
      await scenario(
        (i) => limiters[i % 2] as RateLimiter,
        (now) => {
          t = now;
        },
      );
    });

    it('keep each limiter and key apart', async () => {
      const [a, b] = await pair(1, 60);
      const [link] = links;
      if (!a || !b || !link) throw new Error('two limiters expected');
      const other = new RedisRateLimiter(link, 'other', 1, 60);
      await a.fail('k');
      expect((await b.check('k')).allowed).toBe(false);
      expect((await b.check('k2')).allowed).toBe(true);
      expect((await other.check('k')).allowed).toBe(true);
    });

    it('let Redis forget a key once its window has passed', async () => {
      const [a, b] = await pair(2, 0.4);
      const [link] = links;
      if (!a || !b || !link) throw new Error('two limiters expected');
      await a.fail('k');
      await b.fail('k');
      expect(await a.check('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
      const key = `${link.prefix}rate:sign-in:k`;
      const ttl = await link.commands.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(400);
      await new Promise((r) => setTimeout(r, 450));
      expect((await b.check('k')).allowed).toBe(true);
      expect(await link.commands.exists(key)).toBe(0);
    });
  });
});
