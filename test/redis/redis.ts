import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRunning } from '../rig/processes.ts';
import { readPidFile } from '../rig/state.ts';
import {
  acquireServer,
  downServer,
  releaseServer,
  type ServerSpec,
  serverStatus,
  upServer,
} from '../support/shared-server.ts';
import { redisCommand, redisHealthy, startRedis, stopRedis } from './server.ts';
import { type RedisServer, readRedisConfig, redisPaths } from './state.ts';

const REDIS: ServerSpec<RedisServer> = {
  title: 'Redis',
  dir: () => readRedisConfig().dir,
  files: redisPaths,
  lockTimeoutMs: 60_000,
  healthy: redisHealthy,
  start: (dir) => {
    // A new server starts empty: claims on the old one's databases mean nothing.
    rmSync(redisPaths(dir).claimDir, { recursive: true, force: true });
    return startRedis(dir);
  },
  stop: stopRedis,
};

// Each run owns one logical database, claimed by a file `dbs/<n>` holding its pid; a claim whose
// process is gone is free again. Database 0 is left to people (`cli url`).
function claimFile(dir: string, db: number): string {
  return path.join(redisPaths(dir).claimDir, String(db));
}

/** claimDatabase claims a free database for this process and empties it; call under the lock. */
async function claimDatabase(server: RedisServer): Promise<number> {
  const { claimDir } = redisPaths(server.dir);
  mkdirSync(claimDir, { recursive: true });
  const claimed = new Set(readdirSync(claimDir));
  for (let db = 1; db < server.databases; db++) {
    const file = claimFile(server.dir, db);
    if (claimed.has(String(db)) && isRunning(readPidFile(file))) continue;
    writeFileSync(file, String(process.pid));
    // What a run that died left behind goes before this one starts.
    await redisCommand(server, db, 'FLUSHDB');
    return db;
  }
  throw new Error(`all ${server.databases - 1} databases of the test Redis are claimed`);
}

/** RedisLease is a test run's hold on the test Redis: the server and its own database. */
export interface RedisLease {
  readonly server: RedisServer;
  readonly db: number;
}

/**
 * redisUpDetailed starts the test Redis (or reuses a healthy one) and says which; it then stays
 * up until redisDown, whoever started it.
 */
export function redisUpDetailed(): Promise<{ server: RedisServer; reused: boolean }> {
  return upServer(REDIS);
}

/**
 * redisAcquire is redisUp for a test run: it holds a lease and a database of its own until
 * redisRelease, and a server it had to start is stopped by the last run to release it, unless
 * keep is set.
 */
export function redisAcquire(opts: { keep?: boolean } = {}): Promise<RedisLease> {
  return acquireServer(REDIS, opts, async (server) => ({
    server,
    db: await claimDatabase(server),
  }));
}

/**
 * redisRelease empties and frees the run's database and drops its lease; the last one out stops
 * a server a test run started.
 */
export function redisRelease(lease: RedisLease): Promise<void> {
  return releaseServer(REDIS, async (dir) => {
    // A server restarted meanwhile dropped every claim: the database may be another run's now.
    const file = claimFile(dir, lease.db);
    try {
      if (readPidFile(file) === process.pid && (await redisHealthy(lease.server))) {
        await redisCommand(lease.server, lease.db, 'FLUSHDB');
      }
    } finally {
      if (readPidFile(file) === process.pid) rmSync(file, { force: true });
    }
  });
}

/** redisDown stops the test Redis by pid; refused while a test run holds it, unless force. */
export function redisDown(opts: { force?: boolean } = {}): Promise<void> {
  return downServer(REDIS, opts);
}

/** redisStatus is the descriptor and whether the server is healthy, or null when none was started. */
export function redisStatus(): Promise<{ server: RedisServer; healthy: boolean } | null> {
  return serverStatus(REDIS);
}
