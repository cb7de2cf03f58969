// Values as people read and type them, for every client (the CLI, the web console).

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** bytes formats a byte count in binary units: `512 B`, `1.5 GiB`. */
export function bytes(value: bigint | number | string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  let n = Number(value);
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const digits = unit === 0 || n >= 100 || Number.isInteger(n) ? 0 : 1;
  return `${n.toFixed(digits)} ${UNITS[unit]}`;
}

/** duration formats seconds: `45s`, `3m 05s`, `2h 10m`, `3d 4h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)}h ${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor(s / 3600) % 24}h`;
}

/** clock formats a time as the 24-hour clock shows it here: `14:03:27`. */
export function clock(iso: unknown): string {
  return new Date(String(iso)).toLocaleTimeString('en-GB', { hour12: false });
}

/** ago formats a past time relative to now (`5m ago`), or `-` for none. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = (now - Date.parse(iso)) / 1000;
  if (seconds < 0) return `in ${duration(-seconds)}`;
  if (seconds < 5) return 'just now';
  return `${duration(seconds)} ago`;
}

// Sizes as people type them: binary units, as `bytes` shows them (`2G` is 2 GiB).
const SIZE_UNITS: Record<string, bigint> = {
  '': 1n,
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
};

/**
 * sizeOf reads a size as people type it: plain bytes (`1048576`) or a number and a binary
 * unit (`512M`, `2G`, `1.5T`, also `512MiB`, `2gb`); fractions are rounded down to a byte.
 * Null when the text is not a size.
 */
export function sizeOf(text: string): bigint | null {
  const m = /^(\d+)(?:\.(\d+))?\s*(?:([kmgtp])(?:i?b)?|b?)$/i.exec(text.trim());
  if (!m || (m[2] !== undefined && m[3] === undefined)) return null;
  const [, whole = '0', fraction = ''] = m;
  const unit = SIZE_UNITS[(m[3] ?? '').toLowerCase()] ?? 1n;
  // Exact arithmetic: 1.5T is a byte count beyond 2^53.
  return (BigInt(whole + fraction) * unit) / 10n ** BigInt(fraction.length);
}

/**
 * sizeText writes a size the way sizeOf reads it, exactly: in the largest binary unit that
 * divides it (`2G`, `1536M`), else in bytes.
 */
export function sizeText(value: bigint | number | string): string {
  const n = BigInt(value);
  for (const unit of ['p', 't', 'g', 'm', 'k'] as const) {
    const size = SIZE_UNITS[unit] ?? 1n;
    if (n !== 0n && n % size === 0n) return `${n / size}${unit.toUpperCase()}`;
  }
  return String(n);
}
