import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { EntityManager } from './database.ts';
import type { Dialect } from './url.ts';

/** JsonColumnType is how a column of rows given as JSON is read: its SQL type. */
export type JsonColumnType = 'uuid' | 'text' | 'bigint' | 'integer' | 'timestamp';

/** JsonColumns name the columns of rows given as JSON, and their types. */
export type JsonColumns = Readonly<Record<string, JsonColumnType>>;

/** JsonValue is a column's value in a JSON row: bigints as decimal strings, times as Dates. */
export type JsonValue = string | number | bigint | Date | null;

/** dialectOf is the kind of database behind a unit of work. */
export function dialectOf(em: EntityManager): Dialect {
  return em.getDriver() instanceof PostgreSqlDriver ? 'postgresql' : 'sqlite';
}

/**
 * jsonRows gives many rows to one statement as a single JSON parameter, read back as a table
 * `alias` with `columns`: the SQL to put in a FROM clause, and the parameter for its `?`. The
 * ORM writes every parameter into the SQL text (escaping each), which for thousands of rows of
 * a dozen values cost more than the statement itself; one JSON text is escaped once. Times are
 * stored as each dialect stores the ORM's datetimes (SQLite: milliseconds since the epoch).
 */
export function jsonRows(
  dialect: Dialect,
  alias: string,
  columns: JsonColumns,
  rows: ReadonlyArray<Readonly<Record<string, JsonValue>>>,
): { from: string; param: string } {
  const names = Object.keys(columns);
  const param = JSON.stringify(rows.map((r) => names.map((n) => jsonValue(dialect, r[n] ?? null))));
  if (dialect === 'postgresql') {
    // Arrays, not objects: half the text for the same rows.
    const cols = names
      .map((n, i) => `(r.value ->> ${i})::${PG_TYPES[columns[n] as JsonColumnType]} as ${n}`)
      .join(', ');
    return {
      from: `(select ${cols} from json_array_elements(?::json) as r(value)) as ${alias}`,
      param,
    };
  }
  const cols = names
    .map((n, i) => {
      const value = `r.value ->> ${i}`;
      return columns[n] === 'bigint' || columns[n] === 'integer' || columns[n] === 'timestamp'
        ? `cast(${value} as integer) as ${n}`
        : `${value} as ${n}`;
    })
    .join(', ');
  return { from: `(select ${cols} from json_each(?) as r) as ${alias}`, param };
}

const PG_TYPES: Record<JsonColumnType, string> = {
  uuid: 'uuid',
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  timestamp: 'timestamptz',
};

function jsonValue(dialect: Dialect, v: JsonValue): string | number | null {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return dialect === 'postgresql' ? v.toISOString() : v.getTime();
  return v;
}
