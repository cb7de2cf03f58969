// How Kumo's schema changes: every change to src/entities comes with a migration per dialect,
// generated (never written by hand) by diffing the entities against a scratch database that
// has every committed migration applied. The same diff, expected empty, is the freshness check
// the test suite runs. No schema snapshot file is kept: the migrations are the only record.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MigrationObject } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { MikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { type Config, loadConfig } from '../config/config.ts';
import { Database, MIGRATIONS } from './database.ts';
import type { Dialect } from './url.ts';

/** SchemaDiff is SQL, one statement an entry, that moves a schema to the entities' and back. */
export interface SchemaDiff {
  readonly up: readonly string[];
  readonly down: readonly string[];
}

/** MIGRATIONS_DIR is where each dialect's migrations live: `<dir>/<dialect>/*.ts`. */
export const MIGRATIONS_DIR = path.join(import.meta.dirname, 'migrations');

/**
 * splitStatements cuts the schema generator's script into statements, keeping a `;` followed
 * by a newline inside a string literal (a default value, a check) where it is.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let buf = '';
  for (const chunk of sql.split(/;\n/)) {
    buf += (buf ? ';\n' : '') + chunk;
    if (buf.split("'").length % 2 === 0) continue;
    const stmt = buf.trim();
    // The generator opens PostgreSQL scripts with `set names 'utf8'`: client state, not schema.
    if (stmt && !/^set names\b/i.test(stmt)) out.push(stmt.endsWith(';') ? stmt : `${stmt};`);
    buf = '';
  }
  return out;
}

/**
 * fillRebuiltColumns mends how the generator adds columns to SQLite tables: it rebuilds the
 * table through `<table>__temp_alter` and copies the old rows with `null as <column>` for each
 * new column, which breaks `not null default` columns on any table that has rows. The copy
 * takes the column's default instead.
 */
export function fillRebuiltColumns(stmts: readonly string[]): string[] {
  const defaults = new Map<string, Map<string, string>>();
  return stmts.map((stmt) => {
    const create = /^create table `(\w+__temp_alter)` \((.*)\);$/s.exec(stmt);
    if (create) {
      const columns = new Map<string, string>();
      const column = /`(\w+)` [^,]*?\bdefault ('(?:[^']|'')*'|[\w.-]+)/g;
      for (const m of (create[2] as string).matchAll(column))
        columns.set(m[1] as string, m[2] as string);
      defaults.set(create[1] as string, columns);
      return stmt;
    }
    const insert = /^insert into `(\w+__temp_alter)` select /.exec(stmt);
    const columns = insert && defaults.get(insert[1] as string);
    if (!columns) return stmt;
    return stmt.replace(/\bnull as `(\w+)`/g, (all, name: string) => {
      const value = columns.get(name);
      return value === undefined ? all : `${value} as \`${name}\``;
    });
  });
}

/** schemaDiff is what the entities need of db's current schema: empty when they agree. */
export async function schemaDiff(db: Database): Promise<SchemaDiff> {
  const { up, down } = await db.orm.schema.getUpdateSchemaMigrationSQL({
    wrap: false,
    safe: false,
    dropTables: true,
  });
  return {
    up: fillRebuiltColumns(splitStatements(up)),
    down: fillRebuiltColumns(splitStatements(down)),
  };
}

/** ScratchOptions say where scratch databases are made. */
export interface ScratchOptions {
  /** pgUrl is any database on the PostgreSQL server to make scratch databases on. */
  readonly pgUrl?: string;
  /** migrations replace the committed ones of the dialect. */
  readonly migrations?: readonly MigrationObject[];
}

function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function onPgServer(url: string, sql: string): Promise<void> {
  const orm = await MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: withDatabaseName(url, 'postgres'),
    entities: [],
    discovery: { warnWhenNoEntities: false },
    ensureDatabase: false,
  });
  try {
    await orm.em.getConnection().execute(sql);
  } finally {
    await orm.close(true);
  }
}

/**
 * withScratchDatabase opens an empty database of the dialect, applies the migrations to it,
 * runs fn, and removes the database whatever happens.
 */
export async function withScratchDatabase<T>(
  dialect: Dialect,
  opts: ScratchOptions,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kumo-scratch-'));
  let url = 'sqlite:scratch.sqlite';
  let dropName: string | null = null;
  try {
    if (dialect === 'postgresql') {
      if (!opts.pgUrl) throw new Error('a PostgreSQL URL is needed for the postgresql dialect');
      const name = `kumo_scratch_${process.pid}_${randomBytes(4).toString('hex')}`;
      await onPgServer(opts.pgUrl, `create database ${name}`);
      dropName = name;
      url = withDatabaseName(opts.pgUrl, name);
    }
    const config: Config = loadConfig({ env: {}, overrides: { dataDir, database: { url } } });
    const db = await Database.open(config, { migrations: opts.migrations });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    if (dropName && opts.pgUrl) {
      await onPgServer(opts.pgUrl, `drop database if exists ${dropName} with (force)`);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * migrationDrift applies the dialect's migrations to a scratch database and returns what the
 * entities still need: empty when the committed migrations are up to date.
 */
export function migrationDrift(dialect: Dialect, opts: ScratchOptions = {}): Promise<SchemaDiff> {
  return withScratchDatabase(dialect, opts, schemaDiff);
}

/**
 * settledDrift is migrationDrift repeated until applying what it found leaves nothing more: the
 * generator sometimes needs two passes for one change (a SQLite table rebuilt without a
 * column's check, then rebuilt again to add it), and one migration should hold both.
 */
export async function settledDrift(
  dialect: Dialect,
  opts: ScratchOptions = {},
  rounds = 3,
): Promise<SchemaDiff> {
  const base = opts.migrations ?? MIGRATIONS[dialect];
  let up: string[] = [];
  let down: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const pending = { up, down };
    class Pending extends Migration {
      override up(): void {
        for (const sql of pending.up) this.addSql(sql);
      }
    }
    const migrations =
      up.length > 0 ? [...base, { name: '99991231235959_pending', class: Pending }] : base;
    const diff = await migrationDrift(dialect, { ...opts, migrations });
    if (diff.up.length === 0) return pending;
    up = [...up, ...diff.up];
    down = [...diff.down, ...down];
  }
  throw new Error(`${dialect}: the schema still differs after ${rounds} rounds of migrations`);
}

/** migrationTimestamp is a migration's UTC creation time as `YYYYMMDDhhmmss`. */
export function migrationTimestamp(now: Date = new Date()): string {
  return now.toISOString().replace(/[-:T]|\.\d{3}Z$/g, '');
}

const MIGRATION_NAME = /^[a-z][a-z0-9_]*$/;
const MIGRATION_FILE = /^(\d{14})_([a-z][a-z0-9_]*)\.ts$/;

function className(file: string): string {
  const m = MIGRATION_FILE.exec(file);
  if (!m) throw new Error(`${file} is not a migration file name`);
  const words = (m[2] as string).split('_').filter(Boolean);
  return `Migration${m[1]}${words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join('')}`;
}

function quoteSql(sql: string): string {
  return `\`${sql.replace(/[`$\\]/g, '\\$&')}\``;
}

function migrationSource(dialect: Dialect, file: string, id: string, diff: SchemaDiff): string {
  const body = (stmts: readonly string[]) =>
    stmts.map((s) => `    this.addSql(${quoteSql(s)});\n`).join('');
  return `// Generated by src/db/migrations-create.ts for ${dialect}; commit it, never edit it.
import { Migration } from '@mikro-orm/migrations';

/** ${className(file)} is migration ${id} for ${dialect}. */
export class ${className(file)} extends Migration {
  override name = '${id}';

  override up(): void {
${body(diff.up)}  }

  override down(): void {
${body(diff.down)}  }
}
`;
}

function indexSource(dialect: Dialect, files: readonly string[]): string {
  const imports = files.map((f) => `import { ${className(f)} } from './${f}';\n`).join('');
  const entries = files
    .map((f) => `  { name: '${f.replace(/\.ts$/, '')}', class: ${className(f)} },\n`)
    .join('');
  return `// Generated by src/db/migrations-create.ts: do not edit by hand.
import type { MigrationObject } from '@mikro-orm/core';
${imports}
/** MIGRATIONS are Kumo's ${dialect} migrations, oldest first. */
export const MIGRATIONS: readonly MigrationObject[] = [
${entries}];
`;
}

/** migrationFiles lists the dialect's migration files, oldest first. */
export function migrationFiles(dialect: Dialect, dir: string = MIGRATIONS_DIR): string[] {
  return readdirSync(path.join(dir, dialect))
    .filter((f) => MIGRATION_FILE.test(f))
    .sort();
}

/**
 * writeMigration writes `<dir>/<dialect>/<timestamp>_<name>.ts` with diff and regenerates the
 * dialect's index.ts; returns the paths it wrote.
 */
export function writeMigration(
  dialect: Dialect,
  id: string,
  diff: SchemaDiff,
  dir: string = MIGRATIONS_DIR,
): string[] {
  const file = `${id}.ts`;
  if (!MIGRATION_FILE.test(file)) throw new Error(`bad migration id ${id}`);
  const target = path.join(dir, dialect, file);
  writeFileSync(target, migrationSource(dialect, file, id, diff));
  const index = path.join(dir, dialect, 'index.ts');
  writeFileSync(index, indexSource(dialect, migrationFiles(dialect, dir)));
  return [target, index];
}

/** migrationId is `<timestamp>_<name>`, checking that name is snake_case. */
export function migrationId(name: string, now: Date = new Date()): string {
  if (!MIGRATION_NAME.test(name)) {
    throw new Error(`a migration name is snake_case (a-z, 0-9, _), e.g. add_vm_tags; got ${name}`);
  }
  return `${migrationTimestamp(now)}_${name}`;
}
