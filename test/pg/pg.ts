import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dropLease, isAutoDown, leaseHolders, setAutoDown, takeLease } from '../rig/leases.ts';
import { isRunning, waitUntil } from '../rig/processes.ts';
import { pgBinDir } from './packages.ts';
import { pgHealthy, psql, startPg, stopPg } from './server.ts';
import { loadPg, type PgServer, pgPaths, pgUrl, readPgConfig, savePg } from './state.ts';

const LOCK_TIMEOUT_MS = 120_000;

function tryLock(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A holder that died mid-start leaves its lock behind; take it over.
    const holder = Number(readFileSync(file, 'utf8').trim() || '0');
    if (!isRunning(holder)) rmSync(file, { force: true });
    return false;
  }
}

/** withPgLock runs fn while holding the directory's lock: one process starts or stops at a time. */
async function withPgLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = pgPaths(dir).lockFile;
  await waitUntil(`the PostgreSQL lock ${file}`, () => tryLock(file), LOCK_TIMEOUT_MS, 50);
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** upLocked reuses the running server when it is healthy, else (re)starts it; call under the lock. */
async function upLocked(dir: string): Promise<{ server: PgServer; reused: boolean }> {
  const existing = loadPg(dir);
  if (existing && (await pgHealthy(existing))) return { server: existing, reused: true };
  if (existing) await stopPg(existing);
  const server = await startPg(dir);
  savePg(server);
  return { server, reused: false };
}

/**
 * pgUpDetailed starts the test PostgreSQL (or reuses a healthy one) and says which; it then
 * stays up until pgDown, whoever started it.
 */
export async function pgUpDetailed(): Promise<{ server: PgServer; reused: boolean }> {
  const { dir } = readPgConfig();
  return withPgLock(dir, async () => {
    const result = await upLocked(dir);
    setAutoDown(dir, false);
    return result;
  });
}

/**
 * pgAcquire is pgUp for a test run: it holds a lease until pgRelease, and a server it had to
 * start is stopped by the last run to release it, unless keep is set.
 */
export async function pgAcquire(opts: { keep?: boolean } = {}): Promise<PgServer> {
  const { dir } = readPgConfig();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  takeLease(dir);
  try {
    return await withPgLock(dir, async () => {
      const { server, reused } = await upLocked(dir);
      if (opts.keep) setAutoDown(dir, false);
      else if (!reused) setAutoDown(dir, true);
      return server;
    });
  } catch (err) {
    dropLease(dir);
    throw err;
  }
}

/** pgRelease drops this process's lease; the last one out stops a server a test run started. */
export async function pgRelease(): Promise<void> {
  const { dir } = readPgConfig();
  await withPgLock(dir, async () => {
    dropLease(dir);
    if (leaseHolders(dir).length === 0 && isAutoDown(dir)) {
      const server = loadPg(dir);
      if (server) await stopPg(server);
      setAutoDown(dir, false);
    }
  });
}

/** pgDown stops the test PostgreSQL by pid; refused while a test run holds it, unless force. */
export async function pgDown(opts: { force?: boolean } = {}): Promise<void> {
  const { dir } = readPgConfig();
  await withPgLock(dir, async () => {
    const users = leaseHolders(dir);
    if (users.length > 0 && !opts.force) {
      throw new Error(
        `the test PostgreSQL is in use by pid ${users.join(', ')}; wait for it, or use \`down --force\``,
      );
    }
    const server = loadPg(dir);
    if (server) await stopPg(server);
    setAutoDown(dir, false);
  });
}

/** pgStatus is the descriptor and whether the server is healthy, or null when none was started. */
export async function pgStatus(): Promise<{ server: PgServer; healthy: boolean } | null> {
  const server = loadPg();
  return server ? { server, healthy: await pgHealthy(server) } : null;
}

// Database names are spliced into SQL (CREATE DATABASE takes no parameters): only these pass.
const DB_NAME = /^[a-z][a-z0-9_]{0,62}$/;

function checkName(name: string): string {
  if (!DB_NAME.test(name)) throw new Error(`unsafe database name ${JSON.stringify(name)}`);
  return name;
}

/** withDatabase is url (any database of a server) pointed at database name instead. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${checkName(name)}`;
  return u.toString();
}

/** databaseName is the database a URL names. */
export function databaseName(url: string): string {
  return checkName(decodeURIComponent(new URL(url).pathname.slice(1)));
}

/** createDatabase creates an empty database on the server of url (any of its databases). */
export async function createDatabase(url: string, name: string): Promise<void> {
  await psql(pgBinDir(), withDatabase(url, 'postgres'), `create database ${checkName(name)}`);
}

/** dropDatabase drops a database on the server of url, closing its connections; missing is fine. */
export async function dropDatabase(url: string, name: string): Promise<void> {
  await psql(
    pgBinDir(),
    withDatabase(url, 'postgres'),
    `drop database if exists ${checkName(name)} with (force)`,
  );
}

/** RUN_PREFIX starts the name of every database a test run creates: `kumo_run_<pid>[_...]`. */
export const RUN_PREFIX = 'kumo_run_';

/** runDatabaseName is the database of the run in process pid. */
export function runDatabaseName(pid: number = process.pid): string {
  return `${RUN_PREFIX}${pid}`;
}

// src/db/migrations.ts makes `kumo_scratch_<pid>_<hex>` databases; a killed script leaves one.
const SCRATCH_PREFIX = 'kumo_scratch_';

/**
 * dropRunDatabases drops the databases of runs (and migration scripts) whose process is gone,
 * which never dropped their own, and with `pid` also that run's own databases.
 */
export async function dropRunDatabases(server: PgServer, pid?: number): Promise<string[]> {
  const url = pgUrl(server, 'postgres');
  const names = await psql(
    server.binDir,
    url,
    `select datname from pg_database where datname like '${RUN_PREFIX}%' or datname like '${SCRATCH_PREFIX}%'`,
  );
  const dropped: string[] = [];
  for (const name of names) {
    const prefix = name.startsWith(RUN_PREFIX) ? RUN_PREFIX : SCRATCH_PREFIX;
    const owner = Number(name.slice(prefix.length).split('_')[0]);
    const mine = prefix === RUN_PREFIX && owner === pid;
    if (mine || (owner !== process.pid && !isRunning(owner))) {
      await dropDatabase(url, name);
      dropped.push(name);
    }
  }
  return dropped;
}

/** TestDatabase is a fresh database for one test file; drop removes it. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

let counter = 0;

/**
 * createTestDatabase creates a fresh, empty database next to the run's database runUrl (the
 * `pgUrl` the global setup provides), named after it so the run's teardown drops it too.
 */
export async function createTestDatabase(runUrl: string): Promise<TestDatabase> {
  counter++;
  const name = `${databaseName(runUrl)}_${process.pid}_${counter}`;
  await createDatabase(runUrl, name);
  return { name, url: withDatabase(runUrl, name), drop: () => dropDatabase(runUrl, name) };
}
