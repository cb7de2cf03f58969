import path from 'node:path';
import { loadDescriptor } from '../support/shared-server.ts';

/** RedisConfig is what the environment decides about the test Redis before it runs. */
export interface RedisConfig {
  /**
   * dir holds the server's config, data directory, pid file, log, state file, lock, leases and
   * the runs' database claims.
   * @default '/var/lib/kumo-redis' (env KUMO_REDIS_DIR)
   */
  readonly dir: string;
}

/** readRedisConfig reads the test Redis's settings from the environment. */
export function readRedisConfig(env: NodeJS.ProcessEnv = process.env): RedisConfig {
  return { dir: path.resolve(env.KUMO_REDIS_DIR ?? '/var/lib/kumo-redis') };
}

/** RedisServer describes a running test Redis: what tests and scripts connect to. */
export interface RedisServer {
  dir: string;
  /** version is redis-server's, as it reports it (`7.0.15`). */
  version: string;
  host: string;
  port: number;
  /** password is the server's requirepass, made afresh at each start. */
  password: string;
  /** pid is redis-server's own (it runs in the foreground, so it is the pid spawned). */
  pid: number;
  /** databases is how many logical databases the server has (0 is left to people). */
  databases: number;
  logFile: string;
}

/** redisPaths lays out the files under the test Redis's directory. */
export function redisPaths(dir: string) {
  return {
    configFile: path.join(dir, 'redis.conf'),
    dataDir: path.join(dir, 'data'),
    pidFile: path.join(dir, 'redis.pid'),
    logFile: path.join(dir, 'redis.log'),
    stateFile: path.join(dir, 'redis.json'),
    lockFile: path.join(dir, 'redis.lock'),
    claimDir: path.join(dir, 'dbs'),
  };
}

/** loadRedis reads the descriptor of the test Redis in dir, or null when there is none. */
export function loadRedis(dir: string = readRedisConfig().dir): RedisServer | null {
  return loadDescriptor<RedisServer>(redisPaths(dir).stateFile);
}

/** redisUrl is a connection URL for logical database db on server. */
export function redisUrl(server: RedisServer, db: number): string {
  const password = encodeURIComponent(server.password);
  return `redis://:${password}@${server.host}:${server.port}/${db}`;
}
