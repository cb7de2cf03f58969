import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dropLease, isAutoDown, leaseHolders, setAutoDown, takeLease } from '../rig/leases.ts';
import { acquireLock } from '../rig/lock.ts';
import { isRunning } from '../rig/processes.ts';
import { readPidFile } from '../rig/state.ts';
import { redisCommand, redisHealthy, startRedis, stopRedis } from './server.ts';
import { loadRedis, type RedisServer, readRedisConfig, redisPaths, saveRedis } from './state.ts';

const LOCK_TIMEOUT_MS = 60_000;

/** withRedisLock runs fn while holding the directory's lock: one process changes things at a time. */
async function withRedisLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(redisPaths(dir).lockFile, LOCK_TIMEOUT_MS);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** upLocked reuses the running server when it is healthy, else (re)starts it; call under the lock. */
async function upLocked(dir: string): Promise<{ server: RedisServer; reused: boolean }> {
  const existing = loadRedis(dir);
  if (existing && (await redisHealthy(existing))) return { server: existing, reused: true };
  if (existing) await stopRedis(existing);
  // A new server starts empty: claims on the old one's databases mean nothing.
  rmSync(redisPaths(dir).claimDir, { recursive: true, force: true });
  const server = await startRedis(dir);
  saveRedis(server);
  return { server, reused: false };
}

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
export async function redisUpDetailed(): Promise<{ server: RedisServer; reused: boolean }> {
  const { dir } = readRedisConfig();
  return withRedisLock(dir, async () => {
    const result = await upLocked(dir);
    setAutoDown(dir, false);
    return result;
  });
}

/**
 * redisAcquire is redisUp for a test run: it holds a lease and a database of its own until
 * redisRelease, and a server it had to start is stopped by the last run to release it, unless
 * keep is set.
 */
export async function redisAcquire(opts: { keep?: boolean } = {}): Promise<RedisLease> {
  const { dir } = readRedisConfig();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  takeLease(dir);
  try {
    return await withRedisLock(dir, async () => {
      const { server, reused } = await upLocked(dir);
      if (opts.keep) setAutoDown(dir, false);
      else if (!reused) setAutoDown(dir, true);
      return { server, db: await claimDatabase(server) };
    });
  } catch (err) {
    dropLease(dir);
    throw err;
  }
}

/**
 * redisRelease empties and frees the run's database and drops its lease; the last one out stops
 * a server a test run started.
 */
export async function redisRelease(lease: RedisLease): Promise<void> {
  const { dir } = readRedisConfig();
  await withRedisLock(dir, async () => {
    // A server restarted meanwhile dropped every claim: the database may be another run's now.
    const file = claimFile(dir, lease.db);
    try {
      if (readPidFile(file) === process.pid && (await redisHealthy(lease.server))) {
        await redisCommand(lease.server, lease.db, 'FLUSHDB');
      }
    } finally {
      if (readPidFile(file) === process.pid) rmSync(file, { force: true });
      dropLease(dir);
    }
    if (leaseHolders(dir).length === 0 && isAutoDown(dir)) {
      const server = loadRedis(dir);
      if (server) await stopRedis(server);
      setAutoDown(dir, false);
    }
  });
}

/** redisDown stops the test Redis by pid; refused while a test run holds it, unless force. */
export async function redisDown(opts: { force?: boolean } = {}): Promise<void> {
  const { dir } = readRedisConfig();
  await withRedisLock(dir, async () => {
    const users = leaseHolders(dir);
    if (users.length > 0 && !opts.force) {
      throw new Error(
        `the test Redis is in use by pid ${users.join(', ')}; wait for it, or use \`down --force\``,
      );
    }
    const server = loadRedis(dir);
    if (server) await stopRedis(server);
    setAutoDown(dir, false);
  });
}

/** redisStatus is the descriptor and whether the server is healthy, or null when none was started. */
export async function redisStatus(): Promise<{ server: RedisServer; healthy: boolean } | null> {
  const server = loadRedis();
  return server ? { server, healthy: await redisHealthy(server) } : null;
}
