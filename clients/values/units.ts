// Values as people read them, for every client (the CLI's tables, the web console's pages).

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
