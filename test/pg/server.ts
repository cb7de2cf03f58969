import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRunning, run, spawnDetached } from '../rig/processes.ts';
import { freePort } from '../support/ports.ts';
import { awaitStart, stopByPid } from '../support/shared-server.ts';
import { pgBinDir } from './packages.ts';
import { type PgServer, pgPaths } from './state.ts';

// initdb refuses to run as root, and the cluster's files must belong to the user the server
// runs as: both run as Debian's `postgres` user through setpriv, which execs (unlike runuser,
// which forks), so the pid we record is the postmaster's own.
const PG_USER = 'postgres';
const SUPERUSER = 'kumo';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;

function asPostgres(cmd: string, args: readonly string[]): [string, string[]] {
  return [
    'setpriv',
    [`--reuid=${PG_USER}`, `--regid=${PG_USER}`, '--init-groups', '--', cmd, ...args],
  ];
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [, , uid, gid] = (await run('getent', ['passwd', PG_USER])).trim().split(':');
  if (uid === undefined || gid === undefined) throw new Error(`no user ${PG_USER}`);
  return { uid: Number(uid), gid: Number(gid) };
}

function readVersion(dataDir: string): string | null {
  try {
    return readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * ensureCluster makes the cluster in `<dir>/data` when there is none of the installed major
 * version (a cluster survives between runs: initdb is the slow part of a cold start).
 * Returns the superuser's password, kept in `<dir>/password` (root only).
 */
async function ensureCluster(dir: string, binDir: string): Promise<string> {
  const { dataDir, socketDir } = pgPaths(dir);
  const version = path.basename(path.dirname(binDir));
  const passwordFile = path.join(dir, 'password');
  const ids = await postgresIds();
  mkdirSync(socketDir, { recursive: true });
  chownSync(socketDir, ids.uid, ids.gid);
  if (readVersion(dataDir) === version && existsSync(passwordFile)) {
    return readFileSync(passwordFile, 'utf8').trim();
  }
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { mode: 0o700 });
  chownSync(dataDir, ids.uid, ids.gid);
  const password = randomBytes(18).toString('base64url');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  // initdb reads the password from a file the postgres user can read; it goes right after.
  const pwfile = path.join(dataDir, '..', 'initdb-password');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, ids.uid, ids.gid);
  try {
    const [cmd, args] = asPostgres(path.join(binDir, 'initdb'), [
      '--pgdata',
      dataDir,
      '--username',
      SUPERUSER,
      '--pwfile',
      pwfile,
      '--auth',
      'scram-sha-256',
      '--encoding',
      'UTF8',
      '--no-locale',
      '--no-sync',
      '--no-instructions',
    ]);
    await run(cmd, args, { timeoutMs: 120_000 });
  } finally {
    rmSync(pwfile, { force: true });
  }
  return password;
}

/** postmasterPid is the pid the cluster's postmaster.pid names, or 0. */
function postmasterPid(dataDir: string): number {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/**
 * ownsPid says whether pid is this cluster's live postmaster. Every signal goes through it, so a
 * stale pid from an old state file (the kernel may have reused it) never reaches another process.
 */
function ownsPid(server: PgServer): boolean {
  return isRunning(server.pid) && postmasterPid(server.dataDir) === server.pid;
}

async function acceptsConnections(server: PgServer): Promise<boolean> {
  const out = await run(
    path.join(server.binDir, 'pg_isready'),
    ['--host', server.host, '--port', String(server.port), '--timeout', '2'],
    { allowFailure: true, timeoutMs: 5000 },
  );
  return out.includes('accepting connections');
}

/** pgHealthy says whether server is this cluster's postmaster and accepts connections. */
export async function pgHealthy(server: PgServer): Promise<boolean> {
  return ownsPid(server) && (await acceptsConnections(server));
}

/**
 * startPg initialises the cluster if needed and starts a postmaster on a free port of
 * 127.0.0.1, tuned for tests (no fsync: a crash may lose the cluster, which is then remade).
 */
export async function startPg(dir: string): Promise<PgServer> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const binDir = pgBinDir();
  const password = await ensureCluster(dir, binDir);
  const { dataDir, socketDir, logFile } = pgPaths(dir);
  const port = await freePort(HOST);
  const settings: Record<string, string> = {
    listen_addresses: HOST,
    port: String(port),
    unix_socket_directories: socketDir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    // Each test file opens a pool per database; parallel runs share the server.
    max_connections: '300',
  };
  const [cmd, args] = asPostgres(path.join(binDir, 'postgres'), [
    '-D',
    dataDir,
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ]);
  const pid = spawnDetached(cmd, args, logFile);
  const server: PgServer = {
    dir,
    dataDir,
    socketDir,
    binDir,
    version: readVersion(dataDir) ?? '',
    host: HOST,
    port,
    user: SUPERUSER,
    password,
    pid,
    logFile,
  };
  await awaitStart('PostgreSQL', server, START_TIMEOUT_MS, pgHealthy, stopPg);
  return server;
}

/** stopPg stops server's postmaster by pid: fast shutdown, then immediate, then SIGKILL. */
export function stopPg(server: PgServer): Promise<void> {
  return stopByPid('PostgreSQL', server.pid, () => ownsPid(server), [
    'SIGINT',
    'SIGQUIT',
    'SIGKILL',
  ]);
}

/**
 * psql runs one SQL command with the psql of binDir against the database url names, and returns
 * the rows it prints (one line each, columns separated by `|`).
 */
export async function psql(binDir: string, url: string, sql: string): Promise<string[]> {
  const out = await run(path.join(binDir, 'psql'), [
    '--no-psqlrc',
    '--quiet',
    '--tuples-only',
    '--no-align',
    '--set',
    'ON_ERROR_STOP=1',
    '--dbname',
    url,
    '--command',
    sql,
  ]);
  return out.split('\n').filter((l) => l !== '');
}
