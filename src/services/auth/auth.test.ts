import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, verifyPassword } from './password.ts';
import { MemoryRateLimiter } from './rate-limit.ts';

const FAST = { n: 2 ** 10, r: 8, p: 1 };

describe('passwords', () => {
  it('hash with a fresh salt and verify only the right password', async () => {
    const a = await hashPassword('correct horse', FAST);
    const b = await hashPassword('correct horse', FAST);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('correct horse', 'garbage')).toBe(false);
    expect(await verifyPassword('', 'scrypt$x$y$z$$')).toBe(false);
  });

  it('treats canonically equal Unicode alike', async () => {
    const h = await hashPassword('caf\u00e9', FAST);
    expect(await verifyPassword('cafe\u0301', h)).toBe(true);
  });

  it('knows when a hash is weaker than the current parameters', async () => {
    expect(needsRehash(await hashPassword('x', FAST))).toBe(true);
  });
});

describe('MemoryRateLimiter', () => {
  it('allows the limit of failures per window, then says when to retry, per key', async () => {
    let t = 0;
    const rl = new MemoryRateLimiter(3, 60, () => t);
    for (let i = 0; i < 3; i++) {
      expect((await rl.check('a')).allowed).toBe(true);
      await rl.fail('a');
    }
    expect(await rl.check('a')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect((await rl.check('b')).allowed).toBe(true);
    t = 30_000;
    expect(await rl.check('a')).toEqual({ allowed: false, retryAfterSeconds: 30 });
    t = 60_001;
    expect((await rl.check('a')).allowed).toBe(true);
    await rl.fail('a');
    await rl.reset('a');
    expect((await rl.check('a')).allowed).toBe(true);
  });
});
