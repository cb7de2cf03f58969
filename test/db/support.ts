import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type Config, loadConfig } from '../../src/config/config.ts';
import { Database, type OpenOptions } from '../../src/db/database.ts';
import type { Dialect } from '../../src/db/url.ts';
import { createTestDatabase } from '../pg/index.ts';

/** pgUrl is this run's PostgreSQL database, or null when KUMO_PG=0. */
export function pgUrl(): string | null {
  return inject('pgUrl');
}

/** DIALECTS_UNDER_TEST are SQLite always, and PostgreSQL unless KUMO_PG=0. */
export const DIALECTS_UNDER_TEST: readonly Dialect[] = pgUrl()
  ? ['sqlite', 'postgresql']
  : ['sqlite'];

/** Target is an empty database of one dialect, the config naming it, and its removal. */
export interface Target {
  readonly config: Config;
  cleanup(): Promise<void>;
}

/**
 * freshTarget makes an empty database: a SQLite file in a temporary data directory, or a new
 * database on the test PostgreSQL. Nothing is connected yet.
 */
export async function freshTarget(dialect: Dialect): Promise<Target> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kumo-db-test-'));
  const removeDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') {
    const config = loadConfig({
      env: {},
      overrides: { dataDir, database: { url: 'sqlite:kumo.sqlite' } },
    });
    return { config, cleanup: removeDir };
  }
  const base = pgUrl();
  if (!base) throw new Error('no PostgreSQL in this run (KUMO_PG=0)');
  const pg = await createTestDatabase(base);
  const config = loadConfig({ env: {}, overrides: { dataDir, database: { url: pg.url } } });
  return {
    config,
    cleanup: async () => {
      await pg.drop();
      await removeDir();
    },
  };
}

/** Opened is a migrated Database on a fresh target; cleanup closes and removes it. */
export interface Opened {
  readonly db: Database;
  readonly config: Config;
  cleanup(): Promise<void>;
}

/** openFresh opens (and migrates) a Database on a fresh target of the dialect. */
export async function openFresh(dialect: Dialect, opts: OpenOptions = {}): Promise<Opened> {
  const target = await freshTarget(dialect);
  try {
    const db = await Database.open(target.config, opts);
    return {
      db,
      config: target.config,
      cleanup: async () => {
        await db.close();
        await target.cleanup();
      },
    };
  } catch (err) {
    await target.cleanup();
    throw err;
  }
}

let seq = 0;

/** unique makes a value no other test in the run uses (emails, names). */
export function unique(prefix: string): string {
  seq++;
  return `${prefix}-${process.pid}-${seq}`;
}
