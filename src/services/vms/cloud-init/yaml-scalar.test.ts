import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureSeedTools, pyYamlLoad } from '../../../../test/support/seed-tools.ts';
import { yamlQuote } from './yaml-scalar.ts';

beforeAll(() => ensureSeedTools(), 600_000);

describe('yamlQuote', () => {
  it('escapes quotes, backslashes, controls and non-ASCII', () => {
    expect(yamlQuote('plain text')).toBe('"plain text"');
    expect(yamlQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(yamlQuote('1\n2\r3\t4\0 5\x1b 6\x7f 7\x01')).toBe(
      '"1\\n2\\r3\\t4\\0 5\\e 6\\x7F 7\\x01"',
    );
    expect(yamlQuote('é € \u0085 \u2028 😀')).toBe('"\\xE9 \\u20AC \\x85 \\u2028 \\U0001F600"');
    expect(yamlQuote('key: value # not a comment')).toBe('"key: value # not a comment"');
    expect(yamlQuote('')).toBe('""');
  });

  it('gives printable ASCII on one line, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(yamlQuote(s)).toMatch(/^"[\x20-\x7e]*"$/);
      }),
    );
  });

  it('refuses a lone surrogate', () => {
    expect(() => yamlQuote('a\uD800b')).toThrow(/lone UTF-16 surrogate/);
  });

  it('reads back unchanged through PyYAML, hostile input included', async () => {
    const hostile = [
      'line\nbreak',
      '"quoted" \\ back\\slash',
      'key: value',
      '# comment',
      '- item',
      '  leading and trailing  ',
      '{ "a": [1] } &anchor *ref !tag',
      "'single'",
      '\u0000\u0007\u001b\u007f\u0085\u00a0\u2028\u2029\ufeff',
      'ünïcödé 😀 𝔘',
      'true',
      '~',
      '',
    ];
    const random = fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), {
      numRuns: 200,
      seed: 7,
    });
    const samples = [...hostile, ...random];
    const doc = samples.map((s) => `- ${yamlQuote(s)}\n`).join('');
    expect(await pyYamlLoad(doc)).toEqual(samples);
  });
});
