import { describe, expect, it } from 'vitest';
import { periodOf } from './consumption.ts';

const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];

describe('periodOf', () => {
  it('gives the UTC day, ISO week (from Monday) and calendar month a moment falls in', () => {
    // A Sunday, late in the day.
    const at = new Date('2026-11-22T23:59:59.999Z');
    expect(iso(periodOf('DAY', at))).toEqual([
      '2026-11-22T00:00:00.000Z',
      '2026-11-23T00:00:00.000Z',
    ]);
    expect(iso(periodOf('WEEK', at))).toEqual([
      '2026-11-16T00:00:00.000Z',
      '2026-11-23T00:00:00.000Z',
    ]);
    expect(iso(periodOf('MONTH', at))).toEqual([
      '2026-11-01T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
    ]);
  });

  it('starts a window at its first instant and crosses a year', () => {
    expect(iso(periodOf('WEEK', new Date('2026-11-23T00:00:00Z')))[0]).toBe(
      '2026-11-23T00:00:00.000Z',
    );
    expect(iso(periodOf('MONTH', new Date('2026-12-31T12:00:00Z')))).toEqual([
      '2026-12-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
  });
});
