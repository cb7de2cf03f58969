// Human-readable values for tables, and values as people type them; --json prints the raw values.

import { sizeOf } from '../../values/units.ts';
import { CliError } from '../api/cli-error.ts';

export { ago, bytes, clock, duration } from '../../values/units.ts';

/** parseSize reads a size as people type it (see sizeOf), or fails with a usage error. */
export function parseSize(text: string): bigint {
  const size = sizeOf(text);
  if (size === null)
    throw new CliError('USAGE', `not a size: ${text}`, {
      hint: 'give bytes, or a number and a unit: 512M, 2G, 1.5T',
    });
  return size;
}

const INT_MAX = 2 ** 31 - 1;

/**
 * parseCount reads a whole number from `min` (1 unless given) that fits a GraphQL Int, given
 * for `what` (`--vcpus`).
 */
export function parseCount(text: string, what: string, min = 1): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > INT_MAX)
    throw new CliError('USAGE', `${what} takes a whole number from ${min}, not ${text}`);
  return Number(text);
}

const SPAN_UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** parseDuration reads a span as people type it (`90s`, `30m`, `24h`, `7d`, `2w`), in ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(text.trim());
  if (!m) throw new CliError('USAGE', `not a duration: ${text}`, { hint: 'e.g. 30m, 24h, 7d' });
  return Number(m[1]) * (SPAN_UNITS[(m[2] as string).toLowerCase()] as number);
}

/**
 * parseTime reads an instant: ISO-8601 (`2025-06-01`, `2025-06-01T12:00:00Z`), or a span
 * from now, into the past (`24h` with direction -1) or the future (`30d` with direction 1).
 */
export function parseTime(text: string, direction: 1 | -1, now = Date.now()): Date {
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isNaN(at)) return new Date(at);
  if (/^\d+(?:\.\d+)?\s*[smhdw]$/i.test(text.trim()))
    return new Date(now + direction * parseDuration(text));
  throw new CliError('USAGE', `not a time: ${text}`, {
    hint: 'give an ISO-8601 time (2025-06-01T12:00:00Z) or a span from now (24h, 30d)',
  });
}
