import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataloaderType, type MigrationObject } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import {
  type AbstractSqlDriver,
  MikroORM,
  type Options,
  type SqlEntityManager,
  SqliteDriver,
} from '@mikro-orm/sql';
import type { Config } from '../config/config.ts';
import { ENTITIES } from '../entities/index.ts';
import { MIGRATIONS as POSTGRESQL_MIGRATIONS } from './migrations/postgresql/index.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from './migrations/sqlite/index.ts';
import { KumoSqliteDialect } from './sqlite-dialect.ts';
import { type DatabaseTarget, type Dialect, parseDatabaseUrl } from './url.ts';

/** EntityManager is the ORM's unit of work over either dialect. */
export type EntityManager = SqlEntityManager;

/** MIGRATIONS are each dialect's committed migrations, oldest first. */
export const MIGRATIONS: Readonly<Record<Dialect, readonly MigrationObject[]>> = {
  sqlite: SQLITE_MIGRATIONS,
  postgresql: POSTGRESQL_MIGRATIONS,
};

/** OpenOptions tune Database.open. */
export interface OpenOptions {
  /** migrate applies pending migrations before returning. @default true */
  readonly migrate?: boolean;
  /** migrations replace the committed ones (tests, the migration scripts). */
  readonly migrations?: readonly MigrationObject[];
}

/** ormOptions is the ORM configuration for a target; the migration scripts share it. */
export function ormOptions(
  target: DatabaseTarget,
  opts: { debug?: boolean; migrations?: readonly MigrationObject[] } = {},
): Options<AbstractSqlDriver> {
  const common: Options<AbstractSqlDriver> = {
    entities: [...ENTITIES],
    extensions: [Migrator],
    debug: opts.debug ?? false,
    // Every unit of work is an explicit fork: a stray use of the global one is a bug.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    // References loaded in one tick (a page of VMs each resolving its host and owner) become one
    // `where id in (...)` query, not one query each.
    dataloader: DataloaderType.REFERENCE,
    migrations: {
      // Given as classes, not globbed from disk: Node runs the .ts files natively, and a
      // build or bundle needs no migrations directory beside it.
      migrationsList: [...(opts.migrations ?? MIGRATIONS[target.dialect])],
      // The migrations themselves are the record of the schema (see migrations.ts).
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
  };
  if (target.dialect === 'sqlite') {
    return {
      ...common,
      driver: SqliteDriver,
      dbName: target.path,
      driverOptions: new KumoSqliteDialect(target.path),
    };
  }
  return { ...common, driver: PostgreSqlDriver, clientUrl: target.url };
}

/**
 * Database is the controller's handle on its database: the ORM, request-scoped units of work
 * and transactions. Open it once at start; close it at shutdown.
 */
export class Database {
  /** orm is the ORM instance (schema tools, metadata); prefer fork and transactional. */
  readonly orm: MikroORM<AbstractSqlDriver, EntityManager>;
  /** dialect is the kind of database behind it. */
  readonly dialect: Dialect;
  /** applied names the migrations open applied, oldest first (empty when it was up to date). */
  readonly applied: readonly string[];

  private constructor(
    orm: MikroORM<AbstractSqlDriver, EntityManager>,
    dialect: Dialect,
    applied: readonly string[],
  ) {
    this.orm = orm;
    this.dialect = dialect;
    this.applied = applied;
  }

  /**
   * open creates the data directory, connects to the database config.database.url names and,
   * unless told otherwise, applies pending migrations (in one transaction: all or none).
   */
  static async open(config: Config, opts: OpenOptions = {}): Promise<Database> {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const target = parseDatabaseUrl(config.database.url, config.dataDir);
    if (target.dialect === 'sqlite' && target.path !== ':memory:') {
      mkdirSync(path.dirname(target.path), { recursive: true, mode: 0o700 });
    }
    const orm = await MikroORM.init<AbstractSqlDriver, EntityManager>(
      ormOptions(target, { debug: config.database.debug, migrations: opts.migrations }),
    );
    try {
      const applied = opts.migrate === false ? [] : await migrateUp(orm, target.dialect);
      return new Database(orm, target.dialect, applied);
    } catch (err) {
      await orm.close(true);
      throw err;
    }
  }

  /**
   * fork gives a fresh unit of work with its own identity map: one per request, job or
   * reconciler pass, never shared between them.
   */
  fork(): EntityManager {
    return this.orm.em.fork();
  }

  /**
   * transactional runs fn in a transaction on a fresh fork and flushes it before committing;
   * when fn throws, nothing it wrote (or flushed) stays.
   */
  transactional<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.orm.em.fork().transactional((em) => fn(em));
  }

  /** pending names the migrations not yet applied. */
  async pending(): Promise<string[]> {
    return (await this.orm.migrator.getPending()).map((m) => m.name);
  }

  /** migrate applies pending migrations and names them. */
  migrate(): Promise<string[]> {
    return migrateUp(this.orm, this.dialect);
  }

  /** close closes the connections; the Database is unusable afterwards. */
  async close(): Promise<void> {
    await this.orm.close(true);
  }
}

type Orm = MikroORM<AbstractSqlDriver, EntityManager>;

// Any fixed number: the advisory lock replicas starting together take around their migrations.
const MIGRATION_LOCK = 0x6b756d6f;

/**
 * migratePostgres applies pending migrations in one transaction that first takes an advisory
 * lock: replicas starting at once queue there, and each finds what the one before applied.
 */
async function migratePostgres(orm: Orm): Promise<string[]> {
  const conn = orm.em.getConnection();
  return conn.transactional(async (trx) => {
    await conn.execute(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`, [], 'all', trx);
    const applied = await orm.migrator.up({ transaction: trx });
    return applied.map((m) => m.name);
  });
}

/**
 * migrateUp applies pending migrations in one transaction and names them. On SQLite it turns
 * foreign keys off around that transaction: MikroORM changes a column there by rebuilding the
 * table (create a copy, drop the old one, rename), and with foreign keys on, dropping a table
 * deletes its rows first, which cascades (a VM table rebuild would delete every snapshot).
 * `pragma foreign_keys` is ignored inside a transaction, which is why the migration's own
 * pragma is not enough. Before committing, `pragma foreign_key_check` must come back clean.
 */
async function migrateUp(orm: Orm, dialect: Dialect): Promise<string[]> {
  if (dialect !== 'sqlite') return migratePostgres(orm);
  if ((await orm.migrator.getPending()).length === 0) return [];
  const conn = orm.em.getConnection();
  await conn.execute('pragma foreign_keys = off', [], 'run');
  try {
    return await conn.transactional(async (trx) => {
      const applied = await orm.migrator.up({ transaction: trx });
      const dangling = await conn.execute('pragma foreign_key_check', [], 'all', trx);
      if (dangling.length > 0) {
        throw new Error(
          `the migrations would leave ${dangling.length} row(s) pointing at nothing (first: ${JSON.stringify(dangling[0])}); none was applied`,
        );
      }
      return applied.map((m) => m.name);
    });
  } finally {
    await conn.execute('pragma foreign_keys = on', [], 'run');
  }
}
