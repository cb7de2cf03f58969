import { createHash, randomBytes } from 'node:crypto';

/** TOKEN_PREFIX marks Kumo session tokens so secret scanners and people recognise them. */
export const TOKEN_PREFIX = 'kumo_';

/** newToken makes a bearer token (256 random bits) and the hash that is stored instead of it. */
export function newToken(): { token: string; hash: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

/** hashToken is the stored form of a token: hex SHA-256 (the token has full entropy, no salt needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
