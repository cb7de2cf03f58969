import { describe, expect, it } from 'vitest';
import { parseTagged, stringifyTagged } from './tagged-json.ts';

const roundTrip = (v: unknown) => parseTagged(stringifyTagged(v));

describe('tagged JSON', () => {
  it('round-trips what the topics carry: Dates, bigints, null, nesting, arrays', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const value = {
      at,
      memoryBytes: 2n ** 70n,
      negative: -5n,
      none: null,
      ratio: 0.25,
      odd: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      details: { phases: ['COPY', { bytes: 12n, when: [at] }], ok: true, text: '{"$date":1}' },
    };
    const back = roundTrip(value) as typeof value;
    expect(back).toEqual(value);
    expect(back.at).toBeInstanceOf(Date);
    expect(typeof back.memoryBytes).toBe('bigint');
    expect(roundTrip(null)).toBeNull();
    expect(roundTrip('user-1')).toBe('user-1');
  });

  it('leaves out undefined properties, as optional ones', () => {
    expect(roundTrip({ code: undefined, reason: 'x' })).toEqual({ reason: 'x' });
  });

  it('refuses what would not come back the same', () => {
    expect(() => stringifyTagged([1, undefined])).toThrow(/\$\[1\] \(undefined\)/);
    expect(() => stringifyTagged({ m: new Map() })).toThrow(/\$\.m \(Map\)/);
    expect(() => stringifyTagged({ f: () => 1 })).toThrow(/\$\.f \(function\)/);
    expect(() => stringifyTagged(new Date(Number.NaN))).toThrow(/invalid Date/);
    expect(() => stringifyTagged({ $date: 'x' })).toThrow(/reserves/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => stringifyTagged(loop)).toThrow(/refers back to itself/);
  });

  it('refuses malformed tags', () => {
    expect(() => parseTagged('{"$date":"yesterday"}')).toThrow(/malformed \$date/);
    expect(() => parseTagged('{"$date":"2026-01-02T03:04:05Z"}')).toThrow(/malformed \$date/);
    expect(() => parseTagged('{"$bigint":"1e3"}')).toThrow(/malformed \$bigint/);
    expect(() => parseTagged('{"$number":"42"}')).toThrow(/malformed \$number/);
    expect(() => parseTagged('{"$bigint":{"$bigint":"1"}}')).toThrow(/malformed \$bigint/);
  });

  it('keeps a __proto__ key as data', () => {
    const back = parseTagged('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
