import { describe, expect, it } from 'vitest';
import { SSH_KEY_MAX_LENGTH, validateSshKey } from './ssh-key.ts';

// Made by ssh-keygen for this test (public halves only).
const ED25519 =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIL0OJg60VMFshXJ7rVxIRO0evk9daypqPHn3mf/c8nN alice@example';
const RSA =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCcWxRgmVAjkpeuZeekSV7Nrxf1xO23QZ/S7zXxOPo0GJf3uym6GERjB8g5LWVeu9lRLE+TSdAQ0DfKuGpZH9gBrd6XBZK65h7ALBvSbuChvFbrDaptI6wM6ZrA1t53aptdxdsQ4CQ7t/G2nhuz/Zwg4naBgeBku/Tm6NcM4ZOVlQGmR+0akbUWLzV80BU5EKSZNzZh8GiP214b2Cz8K5iB6TVKdaFJ4pwteHhwXqFcV7JJk7DV1Ub2IQUKNtaB1L0tVvG5StcUkFZ3nHjG8IOpiJr9nwCudZXWN7rQxDXIAbx2yEnSEMyriwQN0Acc8K/bhVIjH0m7ZGTEr0fsNQ89 bob@host';
const ECDSA256 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIEDz990hzcAaMgdjYhyFmN7UcrocFG1ITYINxfPtH0awJ3qKmPrgMWbueq5ciAflFxK3fkZa9YdXjjZOvpJ/nA=';
const ECDSA384 =
  'ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBApKejUxhdzSP/qwFS3wX7gtGOuJRDETccQ03IVGzmqDYNR2TZv38w7sQjgXoamW/hbzL1V1LtlhbVUD4xCMpCsnEVZMmlvgE5exkG9XjHspHZo5EfidWjarGLIl43KFSw== x';
const ECDSA521 =
  'ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAFNT9rnbg71h9+ynFpqy8qZCOr17D1iy5S6EwqTtvNlaYmsL4lbYMwa6bBigRHxjbnG9/eyxtoRSAb1Kle+2E3gEwHsGJDFGqtWxTW7xtS5lRb4//6kjlikRrqzhutvAkKzAugIODbTidU9qn9/QX4uuCSAMZAy+Hb1hJA8mxrxm22Ilw== y';

// A key blob: uint32 big-endian lengths, each followed by its bytes.
function blob(...fields: Array<string | Uint8Array>): string {
  const parts = fields.map((f) => (typeof f === 'string' ? Buffer.from(f, 'latin1') : f));
  return Buffer.concat(
    parts.flatMap((p) => {
      const length = Buffer.alloc(4);
      length.writeUInt32BE(p.length);
      return [length, p];
    }),
  ).toString('base64');
}

const SK_ED25519 = `sk-ssh-ed25519@openssh.com ${blob('sk-ssh-ed25519@openssh.com', new Uint8Array(32), 'ssh:')} yubikey`;
const SK_ECDSA = `sk-ecdsa-sha2-nistp256@openssh.com ${blob('sk-ecdsa-sha2-nistp256@openssh.com', 'nistp256', new Uint8Array(65).fill(4), 'ssh:')}`;

describe('validateSshKey', () => {
  it('accepts every supported type and returns the key trimmed', () => {
    for (const key of [ED25519, RSA, ECDSA256, ECDSA384, ECDSA521, SK_ED25519, SK_ECDSA]) {
      expect(validateSshKey(key)).toBe(key);
      expect(validateSshKey(`\n  ${key} \t\n`)).toBe(key);
    }
  });

  it('keeps the comment, spaces inside it included, and joins fields with one space', () => {
    const [type, data] = ED25519.split(' ');
    expect(validateSshKey(`${type}\t ${data}   my laptop  key`)).toBe(
      `${type} ${data} my laptop  key`,
    );
    expect(validateSshKey(`${type} ${data} ünïcödé`)).toBe(`${type} ${data} ünïcödé`);
  });

  it('rejects what is not one key line', () => {
    expect(() => validateSshKey('  ')).toThrow('SSH key is empty');
    expect(() => validateSshKey(`${ED25519}\n${RSA}`)).toThrow('single line');
    expect(() => validateSshKey('AAAAC3NzaC1lZDI1NTE5')).toThrow('must read');
    expect(() => validateSshKey(`restrict ${ED25519}`)).toThrow(
      /type "restrict" is not supported \(expected one of ssh-ed25519, ssh-rsa/,
    );
    expect(() => validateSshKey(`ssh-dss ${blob('ssh-dss', 'p', 'q', 'g', 'y')}`)).toThrow(
      'type "ssh-dss" is not supported',
    );
    expect(() => validateSshKey(`${ED25519} a\u0007b`)).toThrow('comment contains control');
    expect(() => validateSshKey(`ssh-rsa ${'A'.repeat(SSH_KEY_MAX_LENGTH)}`)).toThrow(
      `longer than ${SSH_KEY_MAX_LENGTH}`,
    );
  });

  it('rejects base64 that does not decode, or not canonically', () => {
    expect(() => validateSshKey('ssh-ed25519 AAAA*AAA')).toThrow('not valid base64');
    expect(() => validateSshKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5A')).toThrow('not valid base64');
    // "AAB=" decodes like "AAA=" in Node; only the canonical form is a key.
    expect(() => validateSshKey('ssh-ed25519 AAB=')).toThrow('not valid base64');
  });

  it('rejects a blob of another type, cut short, padded or with the wrong curve', () => {
    const [, edData = ''] = ED25519.split(' ');
    expect(() => validateSshKey(`ssh-rsa ${edData}`)).toThrow('not a ssh-rsa key');
    const cut = Buffer.from(edData, 'base64').subarray(0, 40).toString('base64');
    expect(() => validateSshKey(`ssh-ed25519 ${cut}`)).toThrow('not a ssh-ed25519 key');
    const short = blob('ssh-ed25519', new Uint8Array(31));
    expect(() => validateSshKey(`ssh-ed25519 ${short}`)).toThrow('not a whole ssh-ed25519 key');
    const extra = blob('ssh-ed25519', new Uint8Array(32), 'more');
    expect(() => validateSshKey(`ssh-ed25519 ${extra}`)).toThrow('not a whole ssh-ed25519 key');
    const curve = blob('ecdsa-sha2-nistp256', 'nistp384', new Uint8Array(97));
    expect(() => validateSshKey(`ecdsa-sha2-nistp256 ${curve}`)).toThrow(
      'not a whole ecdsa-sha2-nistp256 key',
    );
    expect(() => validateSshKey(`ssh-rsa ${blob('ssh-rsa', '\x01\x00\x01')}`)).toThrow(
      'not a whole ssh-rsa key',
    );
  });
});
