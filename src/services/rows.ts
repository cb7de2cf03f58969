/**
 * Row is a row as the query builder gives it (`execute('all')`): property names, relations as
 * their ids, values as the dialect's driver returns them.
 */
export type Row = Readonly<Record<string, unknown>>;

/** dateOf reads a datetime column: a Date from either driver, a number or text as stored. */
export function dateOf(v: unknown): Date {
  return v instanceof Date ? v : new Date(v as string | number);
}

/** dateOrNull is dateOf for a nullable column. */
export function dateOrNull(v: unknown): Date | null {
  return v == null ? null : dateOf(v);
}

/** bigintOf reads a bigint column: text (PostgreSQL) or a number (SQLite). */
export function bigintOf(v: unknown): bigint {
  return BigInt(v as string | number | bigint);
}
