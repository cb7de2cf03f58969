import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** ScryptParams are the cost parameters stored with each hash, so they can be raised later. */
export interface ScryptParams {
  /** N: CPU/memory cost (power of two). */
  readonly n: number;
  readonly r: number;
  readonly p: number;
}

/**
 * DEFAULT_SCRYPT is OWASP's minimum (N=2^17, r=8, p=1): 128 MiB and about 0.5 s per hash on a
 * 2-core machine of this kind, off the event loop (libuv's thread pool). Tests use cheaper ones.
 */
export const DEFAULT_SCRYPT: ScryptParams = { n: 2 ** 17, r: 8, p: 1 };

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** hashPassword returns `scrypt$N$r$p$salt$hash` (base64) with a fresh 16-byte salt. */
export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return [
    'scrypt',
    params.n,
    params.r,
    params.p,
    salt.toString('base64'),
    key.toString('base64'),
  ].join('$');
}

/**
 * verifyPassword compares in constant time. A malformed stored hash verifies as false; the
 * work done is the same either way, so timing does not tell a bad hash from a bad password.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  const [kind, n, r, p, salt, hash] = parts;
  const params = { n: Number(n), r: Number(r), p: Number(p) };
  const valid =
    parts.length === 6 &&
    kind === 'scrypt' &&
    [params.n, params.r, params.p].every(Number.isInteger);
  const expected = valid ? Buffer.from(hash as string, 'base64') : Buffer.alloc(KEY_LENGTH);
  const key = await derive(
    password,
    valid ? Buffer.from(salt as string, 'base64') : Buffer.alloc(16),
    valid ? params : DEFAULT_SCRYPT,
  );
  return valid && expected.length === key.length && timingSafeEqual(expected, key);
}

/** needsRehash says a stored hash was made with weaker parameters than `params`. */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const [, n, r, p] = stored.split('$');
  return Number(n) < params.n || Number(r) < params.r || Number(p) < params.p;
}
