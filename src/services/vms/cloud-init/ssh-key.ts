// OpenSSH public keys as users paste them: one authorized_keys line without options.

// The public key algorithms accepted, with the number of length-prefixed fields in each key blob:
// RFC 4253 6.6 (rsa: type, e, n), RFC 5656 3.1 (ecdsa: type, curve, Q), RFC 8709 4 (ed25519:
// type, key) and OpenSSH's PROTOCOL.u2f (security keys add the application string).
const KEY_FIELDS: ReadonlyMap<string, number> = new Map([
  ['ssh-ed25519', 2],
  ['ssh-rsa', 3],
  ['ecdsa-sha2-nistp256', 3],
  ['ecdsa-sha2-nistp384', 3],
  ['ecdsa-sha2-nistp521', 3],
  ['sk-ssh-ed25519@openssh.com', 3],
  ['sk-ecdsa-sha2-nistp256@openssh.com', 4],
]);

/** SSH_KEY_TYPES are the key types {@link validateSshKey} accepts. */
export const SSH_KEY_TYPES: readonly string[] = [...KEY_FIELDS.keys()];

/** SSH_KEY_MAX_LENGTH bounds a key line; a 16384-bit RSA key takes under 3 KiB. */
export const SSH_KEY_MAX_LENGTH = 8 * 1024;

const ED25519_KEY_BYTES = 32;
const LINE = /^(\S+)[ \t]+(\S+)(?:[ \t]+(.*))?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * validateSshKey checks one OpenSSH public key, `<type> <base64> [comment]`, and returns it
 * trimmed, with single spaces between its fields. The base64 must be canonical and decode to a
 * whole key blob of that type. Throws an Error whose message says what is wrong.
 */
export function validateSshKey(key: string): string {
  const line = key.trim();
  if (line.length === 0) throw new Error('SSH key is empty');
  if (line.length > SSH_KEY_MAX_LENGTH) {
    throw new Error(`SSH key is longer than ${SSH_KEY_MAX_LENGTH} characters`);
  }
  if (/[\r\n]/.test(line)) throw new Error('SSH key must be a single line');
  const [, type = '', data = '', comment = ''] = LINE.exec(line) ?? [];
  if (type === '') throw new Error('SSH key must read "<type> <base64 key> [comment]"');
  const fields = KEY_FIELDS.get(type);
  if (fields === undefined) {
    throw new Error(
      `SSH key type ${JSON.stringify(type)} is not supported (expected one of ${SSH_KEY_TYPES.join(', ')})`,
    );
  }
  const blob = decodeBase64(data);
  if (blob === null) throw new Error('SSH key data is not valid base64');
  const parts = lengthPrefixed(blob);
  if (parts === null || parts[0]?.toString('latin1') !== type) {
    throw new Error(`SSH key data is not a ${type} key`);
  }
  if (parts.length !== fields || !wellFormed(type, parts)) {
    throw new Error(`SSH key data is not a whole ${type} key (cut short or damaged?)`);
  }
  if (/\p{Cc}/u.test(comment) || !comment.isWellFormed()) {
    throw new Error('SSH key comment contains control characters');
  }
  return comment === '' ? `${type} ${data}` : `${type} ${data} ${comment}`;
}

function decodeBase64(data: string): Buffer | null {
  if (data.length % 4 !== 0 || !BASE64.test(data)) return null;
  const bytes = Buffer.from(data, 'base64');
  // Node ignores stray bits in the last character; a canonical encoding round-trips.
  return bytes.toString('base64') === data ? bytes : null;
}

// The blob is a sequence of uint32 big-endian lengths, each followed by that many bytes (RFC 4251
// 5). null when the last one runs past the end.
function lengthPrefixed(blob: Buffer): Buffer[] | null {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return null;
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) return null;
    parts.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return parts;
}

function wellFormed(type: string, parts: readonly Buffer[]): boolean {
  if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
    return parts[1]?.length === ED25519_KEY_BYTES;
  }
  // ECDSA keys name their curve again: "nistp256" for ecdsa-sha2-nistp256.
  const curve = /nistp\d+/.exec(type)?.[0];
  if (curve !== undefined) return parts[1]?.toString('latin1') === curve;
  return true;
}
