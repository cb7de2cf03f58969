import { Redis, type RedisOptions } from 'ioredis';

/** RedisLink is a controller's pair of connections to the Redis its replicas share. */
export interface RedisLink {
  /** commands runs commands (sign-in limits, console tickets) and publishes events. */
  readonly commands: Redis;
  /** subscriber listens to event channels: a subscribed connection may run nothing else. */
  readonly subscriber: Redis;
  /**
   * prefix starts every key and channel Kumo uses, so that one Redis can serve several
   * deployments (and parallel tests).
   */
  readonly prefix: string;
  /** close quits both connections, after the replies they still wait for. */
  close(): Promise<void>;
}

/** RedisLinkOptions tune {@link openRedis}. */
export interface RedisLinkOptions {
  /** @default 'kumo:' */
  readonly prefix?: string;
  /** connectTimeoutMs bounds each connection attempt. @default 5000 */
  readonly connectTimeoutMs?: number;
}

// A command waits out this many reconnection attempts, or this long, then fails: a sign-in
// while Redis is away is refused promptly rather than held.
const COMMAND_RETRIES = 2;
const COMMAND_TIMEOUT_MS = 5000;

/**
 * openRedis connects to the Redis at url and resolves once both connections are ready; a
 * Redis that cannot be reached (or refuses the password) fails the start with a clear error.
 * Later outages are waited out: ioredis reconnects and subscribes again.
 */
export async function openRedis(url: string, opts: RedisLinkOptions = {}): Promise<RedisLink> {
  const where = redacted(url);
  const base: RedisOptions = { lazyConnect: true, connectTimeout: opts.connectTimeoutMs ?? 5000 };
  const commands = new Redis(url, {
    ...base,
    maxRetriesPerRequest: COMMAND_RETRIES,
    commandTimeout: COMMAND_TIMEOUT_MS,
  });
  // Subscribing waits for the connection however long it is away.
  const subscriber = new Redis(url, { ...base, maxRetriesPerRequest: null });
  const clients = [commands, subscriber];
  try {
    await Promise.all(clients.map((c) => connect(c, where)));
  } catch (err) {
    for (const c of clients) c.disconnect();
    throw err;
  }
  for (const c of clients) reportOutages(c, where);
  return {
    commands,
    subscriber,
    prefix: opts.prefix ?? 'kumo:',
    close: async () => {
      await Promise.all(clients.map(quit));
    },
  };
}

// Resolves once the socket is closed. A connection that is away would hold QUIT until it is
// back: that one is dropped at once.
async function quit(client: Redis): Promise<void> {
  if (client.status !== 'ready') return client.disconnect();
  const ended = new Promise((resolve) => client.once('end', resolve));
  await client.quit();
  await ended;
}

// ioredis rejects connect() with "Connection is closed."; the reason came as an error event.
async function connect(client: Redis, where: string): Promise<void> {
  let reason: Error | null = null;
  const onError = (err: Error) => {
    reason ??= err;
  };
  client.on('error', onError);
  try {
    await client.connect();
  } catch (err) {
    const cause = reason ?? err;
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`cannot connect to Redis at ${where}: ${detail}`, { cause });
  } finally {
    client.off('error', onError);
  }
}

// One line when a connection is lost and one when it is back, not one per reconnection attempt.
function reportOutages(client: Redis, where: string): void {
  let away = false;
  client.on('error', (err: Error) => {
    if (!away) console.error(`kumo: Redis at ${where}: ${err.message}; reconnecting`);
    away = true;
  });
  client.on('ready', () => {
    if (away) console.error(`kumo: Redis at ${where} is back`);
    away = false;
  });
}

function redacted(url: string): string {
  const u = new URL(url);
  u.password = '';
  return u.toString();
}
