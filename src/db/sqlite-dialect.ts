import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { TransactionContext } from '@mikro-orm/core';
import { type DialectAdapter, type Driver, SqliteAdapter, SqliteDialect } from 'kysely';

// MikroORM's NodeSqliteDialect reads every INTEGER as a JS number, and node:sqlite throws on
// one beyond 2^53 ("Value is too large to be represented as a JavaScript number"): a byte
// count of 9 PiB could be written but never read back. This dialect reads integers as
// bigint and hands back a number whenever it is exact, so booleans, counters and timestamps
// stay numbers and only the values that need it arrive as bigint (MikroORM's bigint type
// accepts both).

function narrow(value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function narrowRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(row)) row[key] = narrow(row[key]);
  return row;
}

// Kysely's SqliteDialect runs a statement through `all` when it reads rows, else `run`.
const READER = /^\s*(select|pragma|explain|with)\b/i;
const RETURNING = /\breturning\b/i;

/** SqliteOptions tune the node:sqlite connection. */
export interface SqliteOptions {
  /** busyTimeoutMs is how long a write waits for another connection's lock. @default 5000 */
  readonly busyTimeoutMs?: number;
}

class ConcurrentSqliteAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** SQLITE_DEADLOCK_CODE marks a SqliteDeadlockError, also once MikroORM has wrapped it. */
export const SQLITE_DEADLOCK_CODE = 'KUMO_SQLITE_DEADLOCK';

/**
 * SqliteDeadlockError is a query that would wait forever for its own transaction's connection.
 * MikroORM rethrows it as a DriverException that keeps its message and code.
 */
export class SqliteDeadlockError extends Error {
  readonly code = SQLITE_DEADLOCK_CODE;

  constructor() {
    super(
      'on SQLite this query would wait forever: it runs outside the open transaction (another ' +
        'EntityManager fork) but inside its callback, and the transaction holds the one ' +
        'connection; use the transaction’s EntityManager, or run it after the transaction ends',
    );
    this.name = 'SqliteDeadlockError';
  }
}

/**
 * KumoSqliteDialect is a Kysely dialect over `node:sqlite` (no native module) that keeps
 * integers beyond 2^53 exact. A file database runs in WAL mode so readers (another process,
 * a backup) do not block the controller's writes.
 *
 * Kysely gives SQLite one connection, and a transaction holds it until it ends. A query from
 * another fork made inside the transaction's callback would queue behind it and never run (the
 * callback awaits it): such a query fails at once with SqliteDeadlockError instead of hanging.
 * PostgreSQL has a pool and no such limit, but code must work on both.
 */
export class KumoSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    // The driver below serializes use of the connection itself, checking for a deadlock first;
    // Kysely's own mutex (for adapters without multiple connections) would queue the query
    // before that check could run.
    return new ConcurrentSqliteAdapter();
  }

  override createDriver(): Driver {
    const driver = super.createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    const release = driver.releaseConnection.bind(driver);
    // holder is the MikroORM transaction context (an AsyncLocalStorage store) whose transaction
    // holds the connection: MikroORM begins a transaction inside its context, so the acquire of
    // its `begin` records it. A nested transaction has a context of its own and is not caught.
    let holder: TransactionContext | undefined;
    let free: Promise<void> | undefined;
    let release$: (() => void) | undefined;
    driver.acquireConnection = async (options) => {
      const ctx = TransactionContext.currentTransactionContext();
      if (ctx !== undefined && ctx === holder) throw new SqliteDeadlockError();
      while (free) await free;
      free = new Promise((resolve) => {
        release$ = resolve;
      });
      holder = ctx;
      return acquire(options);
    };
    driver.releaseConnection = async (connection) => {
      const wake = release$;
      holder = undefined;
      free = undefined;
      release$ = undefined;
      await release(connection);
      wake?.();
    };
    return driver;
  }

  constructor(path: string, opts: SqliteOptions = {}) {
    super({
      database: async () => {
        const { DatabaseSync: Sync } = process.getBuiltinModule('node:sqlite');
        const db: DatabaseSync = new Sync(path, { timeout: opts.busyTimeoutMs ?? 5000 });
        if (path !== ':memory:') db.exec('pragma journal_mode = wal');
        return {
          prepare(sql: string) {
            const stmt: StatementSync = db.prepare(sql);
            stmt.setReadBigInts(true);
            return {
              reader: READER.test(sql) || RETURNING.test(sql),
              all: (params: readonly unknown[]) =>
                stmt.all(...(params as SQLInputValue[])).map((r) => narrowRow(r)),
              run: (params: readonly unknown[]) => {
                const res = stmt.run(...(params as SQLInputValue[]));
                return {
                  changes: narrow(res.changes) as number | bigint,
                  lastInsertRowid: narrow(res.lastInsertRowid) as number | bigint,
                };
              },
              *iterate(params: readonly unknown[]) {
                for (const r of stmt.iterate(...(params as SQLInputValue[]))) yield narrowRow(r);
              },
            };
          },
          close() {
            db.close();
          },
        };
      },
    });
  }
}
