import path from 'node:path';
import { loadDescriptor } from '../support/shared-server.ts';

/** PgConfig is what the environment decides about the test PostgreSQL before it runs. */
export interface PgConfig {
  /**
   * dir holds the cluster (`data/`, owned by the `postgres` user), the socket directory, the
   * log, the state file, the lock and the leases.
   * @default '/var/lib/kumo-pg' (env KUMO_PG_DIR)
   */
  readonly dir: string;
}

/** readPgConfig reads the test PostgreSQL's settings from the environment. */
export function readPgConfig(env: NodeJS.ProcessEnv = process.env): PgConfig {
  return { dir: path.resolve(env.KUMO_PG_DIR ?? '/var/lib/kumo-pg') };
}

/** PgServer describes a running test PostgreSQL: what tests and scripts connect to. */
export interface PgServer {
  dir: string;
  dataDir: string;
  socketDir: string;
  binDir: string;
  /** version is the server's major version (the cluster's PG_VERSION). */
  version: string;
  host: string;
  port: number;
  /** user is the cluster's superuser, made by initdb; password authenticates it (scram). */
  user: string;
  password: string;
  /** pid is the postmaster's, in the root namespace. */
  pid: number;
  /** logFile collects the server's stderr. */
  logFile: string;
}

/** pgPaths lays out the files under the test PostgreSQL's directory. */
export function pgPaths(dir: string) {
  return {
    dataDir: path.join(dir, 'data'),
    socketDir: path.join(dir, 'run'),
    logFile: path.join(dir, 'postgres.log'),
    stateFile: path.join(dir, 'pg.json'),
    lockFile: path.join(dir, 'pg.lock'),
  };
}

/** loadPg reads the descriptor of the test PostgreSQL in dir, or null when there is none. */
export function loadPg(dir: string = readPgConfig().dir): PgServer | null {
  return loadDescriptor<PgServer>(pgPaths(dir).stateFile);
}

/** pgUrl is a connection URL for database db on server. */
export function pgUrl(server: PgServer, db: string): string {
  const user = encodeURIComponent(server.user);
  const password = encodeURIComponent(server.password);
  return `postgres://${user}:${password}@${server.host}:${server.port}/${encodeURIComponent(db)}`;
}
