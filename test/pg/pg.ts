import { isRunning } from '../rig/processes.ts';
import {
  acquireServer,
  downServer,
  releaseServer,
  type ServerSpec,
  serverStatus,
  upServer,
} from '../support/shared-server.ts';
import { pgBinDir } from './packages.ts';
import { pgHealthy, psql, startPg, stopPg } from './server.ts';
import { type PgServer, pgPaths, pgUrl, readPgConfig } from './state.ts';

const PG: ServerSpec<PgServer> = {
  title: 'PostgreSQL',
  dir: () => readPgConfig().dir,
  files: pgPaths,
  lockTimeoutMs: 120_000,
  healthy: pgHealthy,
  start: startPg,
  stop: stopPg,
};

/**
 * pgUpDetailed starts the test PostgreSQL (or reuses a healthy one) and says which; it then
 * stays up until pgDown, whoever started it.
 */
export function pgUpDetailed(): Promise<{ server: PgServer; reused: boolean }> {
  return upServer(PG);
}

/**
 * pgAcquire is pgUp for a test run: it holds a lease until pgRelease, and a server it had to
 * start is stopped by the last run to release it, unless keep is set.
 */
export function pgAcquire(opts: { keep?: boolean } = {}): Promise<PgServer> {
  return acquireServer(PG, opts, async (server) => server);
}

/** pgRelease drops this process's lease; the last one out stops a server a test run started. */
export function pgRelease(): Promise<void> {
  return releaseServer(PG);
}

/** pgDown stops the test PostgreSQL by pid; refused while a test run holds it, unless force. */
export function pgDown(opts: { force?: boolean } = {}): Promise<void> {
  return downServer(PG, opts);
}

/** pgStatus is the descriptor and whether the server is healthy, or null when none was started. */
export function pgStatus(): Promise<{ server: PgServer; healthy: boolean } | null> {
  return serverStatus(PG);
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
