import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type JsonValue,
  KEY_BYTES,
  loadSecretKey,
  SECRET_KEY_FILE,
  SecretBox,
  SecretBoxError,
  type SecretBoxErrorReason,
} from './secret-box.ts';

const CREDS: JsonValue = {
  kind: 'ssh',
  user: 'root',
  privateKey:
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
  hostKeys: ['SHA256:abc', 'SHA256:def'],
  port: 22,
  agent: false,
  extra: null,
};

function reasonOf(fn: () => unknown): SecretBoxErrorReason | 'none' {
  try {
    fn();
  } catch (err) {
    if (err instanceof SecretBoxError) return err.reason;
    throw err;
  }
  return 'none';
}

/** flip changes one character of part n (0-based, after the version) of sealed text. */
function flip(sealed: string, n: number): string {
  const parts = sealed.split(':');
  const part = parts[n + 1] as string;
  const i = Math.floor(part.length / 2);
  parts[n + 1] = part.slice(0, i) + (part[i] === 'A' ? 'B' : 'A') + part.slice(i + 1);
  return parts.join(':');
}

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(KEY_BYTES));

  it('opens what it sealed, with a fresh IV every time', () => {
    const a = box.seal(CREDS, 'host:1');
    const b = box.seal(CREDS, 'host:1');
    expect(a).toMatch(/^v1:[0-9a-f]{8}:[\w-]{16}:[\w-]+:[\w-]{22}$/);
    expect(a).not.toBe(b);
    expect(box.open(a, 'host:1')).toEqual(CREDS);
    expect(box.open(b, 'host:1')).toEqual(CREDS);
    expect(a).not.toContain('root');
    for (const v of [null, 0, '', [], 'ü €', { deep: [1, { x: true }] }] as JsonValue[]) {
      expect(box.open(box.seal(v))).toEqual(v);
    }
  });

  it('refuses another key, saying which', () => {
    const other = new SecretBox(randomBytes(KEY_BYTES));
    const sealed = other.seal(CREDS);
    expect(reasonOf(() => box.open(sealed))).toBe('key');
    expect(() => box.open(sealed)).toThrow(new RegExp(`another key \\(id ${other.keyId}\\)`));
  });

  it('refuses altered text and text from another context', () => {
    const sealed = box.seal(CREDS, 'host:1');
    expect(reasonOf(() => box.open(flip(sealed, 2), 'host:1'))).toBe('tampered'); // ciphertext
    expect(reasonOf(() => box.open(flip(sealed, 3), 'host:1'))).toBe('tampered'); // tag
    expect(reasonOf(() => box.open(flip(sealed, 1), 'host:1'))).toBe('tampered'); // IV
    expect(reasonOf(() => box.open(sealed, 'host:2'))).toBe('tampered');
    expect(() => box.open(sealed, 'host:2')).toThrow(/altered, or belongs to another record/);
  });

  it('refuses malformed text and other versions', () => {
    const sealed = box.seal(CREDS);
    expect(reasonOf(() => box.open('{"user":"root"}'))).toBe('format');
    expect(reasonOf(() => box.open(sealed.split(':').slice(0, 4).join(':')))).toBe('format');
    expect(reasonOf(() => box.open(sealed.replace(/^v1:/, 'v2:')))).toBe('version');
    const shortIv = sealed.split(':');
    shortIv[2] = 'AAAA';
    expect(reasonOf(() => box.open(shortIv.join(':')))).toBe('format');
  });

  it('takes only 32-byte keys', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('loadSecretKey', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'kumo-secret-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('uses the configured key', () => {
    const key = randomBytes(KEY_BYTES);
    const dataDir = tempDir();
    expect(loadSecretKey({ dataDir, secretKey: key.toString('base64') }).equals(key)).toBe(true);
    // and writes no key file then
    expect(() => statSync(path.join(dataDir, SECRET_KEY_FILE))).toThrow();
  });

  it('refuses a configured key of the wrong size or alphabet', () => {
    const dataDir = tempDir();
    expect(() => loadSecretKey({ dataDir, secretKey: randomBytes(16).toString('base64') })).toThrow(
      /secretKey must be 32 bytes in base64/,
    );
    expect(() => loadSecretKey({ dataDir, secretKey: `${'!'.repeat(44)}` })).toThrow(/base64/);
  });

  it('generates a key file once, mode 0600, and reads it back', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const first = loadSecretKey({ dataDir, secretKey: undefined });
    const file = path.join(dataDir, SECRET_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.length).toBe(KEY_BYTES);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(first)).toBe(true);
    const second = loadSecretKey({ dataDir, secretKey: undefined });
    expect(second.equals(first)).toBe(true);
    // A box from the file opens what another box from the same file sealed.
    const sealed = SecretBox.fromConfig({ dataDir, secretKey: undefined }).seal({ a: 1 });
    expect(SecretBox.fromConfig({ dataDir, secretKey: undefined }).open(sealed)).toEqual({ a: 1 });
  });

  it('refuses a key file others can read, and a corrupt one', () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, SECRET_KEY_FILE);
    writeFileSync(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o644 });
    chmodSync(file, 0o644);
    expect(() => loadSecretKey({ dataDir, secretKey: undefined })).toThrow(/chmod 600/);
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => loadSecretKey({ dataDir, secretKey: undefined })).toThrow(/must be 32 bytes/);
  });
});
