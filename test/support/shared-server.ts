import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dropLease, isAutoDown, leaseHolders, setAutoDown, takeLease } from '../rig/leases.ts';
import { acquireLock } from '../rig/lock.ts';
import { isRunning, waitUntil } from '../rig/processes.ts';

// A test server (PostgreSQL, Redis) is shared by every test run on the machine, like the rig.
// Its directory holds the descriptor of the running server, a lock so that one process starts
// or stops it at a time, and a lease per test run using it. A server a test run started is
// stopped by the last run to release it; one a person started (`cli up`) stays up.

const STOP_GRACE_MS = 10_000;

/** Server is what every test server's descriptor holds. */
export interface Server {
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  /** pid is the server process's own: the only process ever signalled. */
  readonly pid: number;
  /** logFile collects the server's output. */
  readonly logFile: string;
}

/** ServerSpec is what the shared lifecycle needs to know of one kind of test server. */
export interface ServerSpec<S extends Server> {
  /** title names the server in messages (`the test PostgreSQL is in use ...`). */
  readonly title: string;
  /** dir is the server's directory, as the environment says (KUMO_PG_DIR, ...). */
  dir(): string;
  /** files names the descriptor and the lock under dir. */
  files(dir: string): { readonly stateFile: string; readonly lockFile: string };
  readonly lockTimeoutMs: number;
  healthy(server: S): Promise<boolean>;
  /** start starts a server in dir, resolving once it is healthy. */
  start(dir: string): Promise<S>;
  /** stop stops server by pid; a no-op when it is gone. */
  stop(server: S): Promise<void>;
}

/** loadDescriptor reads a server's descriptor from file, or null when there is none. */
export function loadDescriptor<S extends Server>(file: string): S | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as S;
  } catch {
    return null;
  }
}

/** saveDescriptor writes it atomically and readable by root only (it holds a password). */
function saveDescriptor(file: string, server: Server): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(server, null, 2)}\n`, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}

async function withLock<S extends Server, T>(
  spec: ServerSpec<S>,
  dir: string,
  fn: () => Promise<T>,
): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(spec.files(dir).lockFile, spec.lockTimeoutMs);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** upLocked reuses the running server when it is healthy, else (re)starts it; call under the lock. */
async function upLocked<S extends Server>(
  spec: ServerSpec<S>,
  dir: string,
): Promise<{ server: S; reused: boolean }> {
  const { stateFile } = spec.files(dir);
  const existing = loadDescriptor<S>(stateFile);
  if (existing && (await spec.healthy(existing))) return { server: existing, reused: true };
  if (existing) await spec.stop(existing);
  const server = await spec.start(dir);
  saveDescriptor(stateFile, server);
  return { server, reused: false };
}

/** upServer starts the server (or reuses a healthy one) and says which; it stays up until down. */
export function upServer<S extends Server>(
  spec: ServerSpec<S>,
): Promise<{ server: S; reused: boolean }> {
  const dir = spec.dir();
  return withLock(spec, dir, async () => {
    const result = await upLocked(spec, dir);
    setAutoDown(dir, false);
    return result;
  });
}

/**
 * acquireServer is upServer for a test run: it holds a lease until releaseServer, and a server
 * it had to start is stopped by the last run to release it, unless keep is set. claim runs under
 * the lock with the server, and what it returns is the run's.
 */
export async function acquireServer<S extends Server, T>(
  spec: ServerSpec<S>,
  opts: { keep?: boolean },
  claim: (server: S) => Promise<T>,
): Promise<T> {
  const dir = spec.dir();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  takeLease(dir);
  try {
    return await withLock(spec, dir, async () => {
      const { server, reused } = await upLocked(spec, dir);
      if (opts.keep) setAutoDown(dir, false);
      else if (!reused) setAutoDown(dir, true);
      return claim(server);
    });
  } catch (err) {
    dropLease(dir);
    throw err;
  }
}

/**
 * releaseServer drops this process's lease, once unclaim (under the lock) has given back what
 * the run claimed; the last one out stops a server a test run started.
 */
export async function releaseServer<S extends Server>(
  spec: ServerSpec<S>,
  unclaim?: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = spec.dir();
  await withLock(spec, dir, async () => {
    try {
      await unclaim?.(dir);
    } finally {
      dropLease(dir);
    }
    if (leaseHolders(dir).length === 0 && isAutoDown(dir)) {
      const server = loadDescriptor<S>(spec.files(dir).stateFile);
      if (server) await spec.stop(server);
      setAutoDown(dir, false);
    }
  });
}

/** downServer stops the server by pid; refused while a test run holds it, unless force. */
export async function downServer<S extends Server>(
  spec: ServerSpec<S>,
  opts: { force?: boolean },
): Promise<void> {
  const dir = spec.dir();
  await withLock(spec, dir, async () => {
    const users = leaseHolders(dir);
    if (users.length > 0 && !opts.force) {
      throw new Error(
        `the test ${spec.title} is in use by pid ${users.join(', ')}; wait for it, or use \`down --force\``,
      );
    }
    const server = loadDescriptor<S>(spec.files(dir).stateFile);
    if (server) await spec.stop(server);
    setAutoDown(dir, false);
  });
}

/** serverStatus is the descriptor and whether the server is healthy, or null when none was started. */
export async function serverStatus<S extends Server>(
  spec: ServerSpec<S>,
): Promise<{ server: S; healthy: boolean } | null> {
  const server = loadDescriptor<S>(spec.files(spec.dir()).stateFile);
  return server ? { server, healthy: await spec.healthy(server) } : null;
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '';
  }
}

/**
 * awaitStart waits until server, just spawned, is healthy; when it exits or times out instead,
 * it is stopped and the error (with the end of its log) thrown.
 */
export async function awaitStart<S extends Server>(
  title: string,
  server: S,
  timeoutMs: number,
  healthy: (server: S) => Promise<boolean>,
  stop: (server: S) => Promise<void>,
): Promise<void> {
  try {
    await waitUntil(
      `${title} on ${server.host}:${server.port}`,
      async () => {
        if (!isRunning(server.pid)) {
          throw new Error(`${title} exited at start:\n${logTail(server.logFile)}`);
        }
        return healthy(server);
      },
      timeoutMs,
      50,
    );
  } catch (err) {
    await stop(server);
    throw err;
  }
}

/**
 * stopByPid sends pid each signal in turn, giving each STOP_GRACE_MS to end it. owns is checked
 * before every signal, so a pid the kernel gave to another process is never signalled.
 */
export async function stopByPid(
  title: string,
  pid: number,
  owns: () => boolean,
  signals: readonly NodeJS.Signals[],
): Promise<void> {
  for (const signal of signals) {
    if (!owns()) return;
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    try {
      await waitUntil(
        `${title} pid ${pid} to exit on ${signal}`,
        () => !isRunning(pid),
        STOP_GRACE_MS,
      );
      return;
    } catch {
      // escalate to the next signal
    }
  }
}
