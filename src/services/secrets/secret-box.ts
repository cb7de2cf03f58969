import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config/config.ts';
import type { SealedText } from '../../entities/host.ts';

/** KEY_BYTES is the size of an AES-256 key. */
export const KEY_BYTES = 32;
/** SECRET_KEY_FILE is where a generated key is kept, under the data directory. */
export const SECRET_KEY_FILE = 'secret.key';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** JsonValue is what a SecretBox seals: anything JSON can carry. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** SecretBoxErrorReason says why sealed text would not open. */
export type SecretBoxErrorReason = 'format' | 'version' | 'key' | 'tampered';

/** SecretBoxError is a sealed text that cannot be opened, and why. */
export class SecretBoxError extends Error {
  readonly reason: SecretBoxErrorReason;

  constructor(reason: SecretBoxErrorReason, message: string) {
    super(message);
    this.name = 'SecretBoxError';
    this.reason = reason;
  }
}

/** keyId is a short public fingerprint of a key: it tells keys apart, it reveals nothing. */
export function keyId(key: Uint8Array): string {
  return createHash('sha256')
    .update('kumo secret-box key id\0')
    .update(key)
    .digest('hex')
    .slice(0, 8);
}

function decodeKey(base64: string, where: string): Buffer {
  const trimmed = base64.trim();
  const key = Buffer.from(trimmed, 'base64');
  // Buffer.from ignores stray characters; a round trip proves the text was all base64.
  const canonical = key.toString('base64');
  if (key.length !== KEY_BYTES || canonical.replace(/=+$/, '') !== trimmed.replace(/=+$/, '')) {
    throw new Error(
      `${where} must be ${KEY_BYTES} bytes in base64 (make one with \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

/**
 * loadSecretKey returns the key that seals host credentials: config.secretKey (base64) when
 * set, else `<dataDir>/secret.key`, generated on first use with mode 0600. A key file others
 * can read is refused.
 */
export function loadSecretKey(config: Pick<Config, 'dataDir' | 'secretKey'>): Buffer {
  if (config.secretKey !== undefined) return decodeKey(config.secretKey, 'secretKey');
  const file = path.join(config.dataDir, SECRET_KEY_FILE);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx': when two processes start at once, one writes and the other reads its key.
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${file} is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${file}\``,
    );
  }
  return decodeKey(readFileSync(file, 'utf8'), file);
}

function aad(context: string): Buffer {
  return Buffer.from(`kumo secret-box ${VERSION}\0${context}`, 'utf8');
}

/**
 * SecretBox seals JSON values with AES-256-GCM. Sealed text is
 * `v1:<key id>:<iv>:<ciphertext>:<tag>` (base64url parts, a fresh random IV each time).
 * A context (e.g. `host:<id>`) binds the text to where it is stored: opened under another
 * context, it fails like tampered text, so a sealed value copied between rows is useless.
 */
export class SecretBox {
  /** keyId is the fingerprint of this box's key, stored in every text it seals. */
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== KEY_BYTES) throw new Error(`a SecretBox key is ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.keyId = keyId(this.#key);
  }

  /** fromConfig is a box with the configured key (see loadSecretKey). */
  static fromConfig(config: Pick<Config, 'dataDir' | 'secretKey'>): SecretBox {
    return new SecretBox(loadSecretKey(config));
  }

  /** seal encrypts value's JSON under context. */
  seal(value: JsonValue, context = ''): SealedText {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(aad(context));
    const plain = Buffer.from(JSON.stringify(value), 'utf8');
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    const parts = [iv, body, cipher.getAuthTag()].map((b) => b.toString('base64url'));
    return `${VERSION}:${this.keyId}:${parts.join(':')}` as SealedText;
  }

  /**
   * open decrypts text sealed under the same context; it throws a SecretBoxError when the
   * text is malformed, from another version or key, or was altered.
   */
  open(text: string, context = ''): JsonValue {
    const parts = text.split(':');
    const [version, kid, ivText, bodyText, tagText] = parts;
    if (parts.length !== 5 || !kid || !ivText || bodyText === undefined || !tagText) {
      throw new SecretBoxError(
        'format',
        `not a sealed text (expected ${VERSION}:<key id>:<iv>:<ciphertext>:<tag>)`,
      );
    }
    if (version !== VERSION) {
      throw new SecretBoxError(
        'version',
        `sealed text of version ${JSON.stringify(version)} cannot be opened; this controller reads ${VERSION}`,
      );
    }
    if (kid !== this.keyId) {
      throw new SecretBoxError(
        'key',
        `sealed with another key (id ${kid}); this controller's key is ${this.keyId}: restore the secretKey or ${SECRET_KEY_FILE} it was sealed with`,
      );
    }
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError('format', 'sealed text has a malformed IV or tag');
    }
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(aad(context));
      decipher.setAuthTag(tag);
      plain = Buffer.concat([
        decipher.update(Buffer.from(bodyText, 'base64url')),
        decipher.final(),
      ]);
    } catch {
      throw new SecretBoxError(
        'tampered',
        'sealed text failed authentication: it was altered, or belongs to another record',
      );
    }
    return JSON.parse(plain.toString('utf8')) as JsonValue;
  }
}
