import { describe, expect, it } from 'vitest';
import { validateHostname } from './hostname.ts';

describe('validateHostname', () => {
  it('accepts RFC 1123 labels and lower-cases them', () => {
    expect(validateHostname('vm-1')).toBe('vm-1');
    expect(validateHostname('Web-Server-01')).toBe('web-server-01');
    expect(validateHostname('0')).toBe('0');
    expect(validateHostname('a'.repeat(63))).toBe('a'.repeat(63));
  });

  it('rejects anything else', () => {
    for (const bad of [
      '',
      '-vm',
      'vm-',
      'vm_1',
      'vm.example',
      'a'.repeat(64),
      'v m',
      '\u212Aube',
    ]) {
      expect(() => validateHostname(bad), bad).toThrow(/must be 1 to 63 letters, digits and '-'/);
    }
  });
});
