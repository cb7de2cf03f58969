import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { isRunning, run, spawnDetached } from '../rig/processes.ts';
import { readPidFile } from '../rig/state.ts';
import { freePort } from '../support/ports.ts';
import { awaitStart, stopByPid } from '../support/shared-server.ts';
import { REDIS_SERVER } from './packages.ts';
import { type RedisServer, redisPaths } from './state.ts';

const HOST = '127.0.0.1';
const DATABASES = 64;
const START_TIMEOUT_MS = 15_000;

/**
 * ownsPid says whether server.pid is this server's live redis-server (its pid file names it).
 * Every signal goes through it, so a stale pid from an old state file (the kernel may have reused
 * it) never reaches another process.
 */
function ownsPid(server: RedisServer): boolean {
  return isRunning(server.pid) && readPidFile(redisPaths(server.dir).pidFile) === server.pid;
}

/**
 * redisCommand runs one command on database db of server over a connection of its own, which
 * neither waits for nor retries an unreachable server.
 */
export async function redisCommand(
  server: RedisServer,
  db: number,
  command: string,
  ...args: string[]
): Promise<unknown> {
  const client = new Redis({
    host: server.host,
    port: server.port,
    password: server.password,
    db,
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // the command's own rejection says what went wrong
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** redisHealthy says whether server is this directory's redis-server and answers PING. */
export async function redisHealthy(server: RedisServer): Promise<boolean> {
  if (!ownsPid(server)) return false;
  return (await redisCommand(server, 0, 'PING').catch(() => null)) === 'PONG';
}

// The config goes in a root-only file rather than on the command line, where any local user
// would read the password in /proc. Nothing is persisted: the data is every run's scratch.
function writeConfig(server: RedisServer): void {
  const { configFile, dataDir, pidFile } = redisPaths(server.dir);
  const lines = [
    `bind ${server.host}`,
    `port ${server.port}`,
    'protected-mode yes',
    'daemonize no',
    `pidfile ${pidFile}`,
    `dir ${dataDir}`,
    'save ""',
    'appendonly no',
    `databases ${server.databases}`,
    `requirepass ${server.password}`,
    'logfile ""',
  ];
  writeFileSync(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
}

async function serverVersion(): Promise<string> {
  const out = await run(REDIS_SERVER, ['--version']);
  return /v=(\S+)/.exec(out)?.[1] ?? '';
}

/** startRedis starts a redis-server on a free port of 127.0.0.1 with a fresh password. */
export async function startRedis(dir: string): Promise<RedisServer> {
  const { dataDir, logFile, configFile } = redisPaths(dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const server: RedisServer = {
    dir,
    version: await serverVersion(),
    host: HOST,
    port: await freePort(HOST),
    password: randomBytes(18).toString('base64url'),
    pid: 0,
    databases: DATABASES,
    logFile,
  };
  writeConfig(server);
  server.pid = spawnDetached(REDIS_SERVER, [configFile], logFile);
  await awaitStart('Redis', server, START_TIMEOUT_MS, redisHealthy, stopRedis);
  return server;
}

/** stopRedis stops server by pid: SIGTERM (Redis shuts down, saving nothing), then SIGKILL. */
export function stopRedis(server: RedisServer): Promise<void> {
  return stopByPid('Redis', server.pid, () => ownsPid(server), ['SIGTERM', 'SIGKILL']);
}
