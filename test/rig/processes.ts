import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** RunOptions tune one command run by {@link run}. */
export interface RunOptions {
  /** @default 120_000 */
  readonly timeoutMs?: number;
  /** allowFailure resolves with stdout even when the command exits non-zero. */
  readonly allowFailure?: boolean;
}

/** run runs a command to completion and returns its stdout; a non-zero exit throws with stderr. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err && !(opts.allowFailure && typeof err.code === 'number')) {
          const detail = String(stderr).trim() || err.message;
          reject(new Error(`${cmd} ${args.join(' ')} failed: ${detail}`));
        } else {
          resolve(String(stdout));
        }
      },
    );
  });
}

// Daemons get a plain environment: nothing of the test runner's (NODE_OPTIONS, its PATH to Node)
// leaks into libvirtd, QEMU or ssh sessions.
const DAEMON_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
};

/**
 * spawnDetached starts a long-lived process in its own session (so a Ctrl-C in the terminal
 * or the exit of this process does not reach it), with stdout and stderr appended to logPath.
 * Returns its pid.
 */
export function spawnDetached(cmd: string, args: readonly string[], logPath: string): number {
  const log = openSync(logPath, 'a');
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', log, log],
      env: DAEMON_ENV,
    });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * isRunning says whether pid is a live process. A zombie counts as gone: this machine's PID 1
 * reaps orphans only every second or two, and a zombie still answers kill(pid, 0).
 */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** isStopped says whether pid is stopped by a signal (SIGSTOP). */
export function isStopped(pid: number): boolean {
  return statFields(pid)?.[0] === 'T';
}

/** parentPid is pid's parent, or null when pid is gone. */
export function parentPid(pid: number): number | null {
  const ppid = statFields(pid)?.[1];
  return ppid === undefined ? null : Number(ppid);
}

/** commandName is /proc/<pid>/comm, or null when pid is gone. */
export function commandName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * waitUntil polls cond every intervalMs until it holds, and throws after timeoutMs saying what
 * it waited for (plus the detail the last failed check returned, if any).
 */
export async function waitUntil(
  what: string,
  cond: () => boolean | string | Promise<boolean | string>,
  timeoutMs: number,
  intervalMs = 75,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | string = false;
  for (;;) {
    last = await cond();
    if (last === true) return;
    if (Date.now() >= deadline) {
      const detail = typeof last === 'string' ? `: ${last}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/** netnsInode identifies a named network namespace, or null when it does not exist. */
export function netnsInode(ns: string): number | null {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return null;
  }
}

/**
 * inNetns says whether pid is a live process inside the named network namespace. Every signal
 * the rig sends goes through this check, so a stale pid from an old state file (the kernel may
 * have reused it) never reaches an unrelated process.
 */
export function inNetns(pid: number, ns: string): boolean {
  const ino = netnsInode(ns);
  if (ino === null || !isRunning(pid)) return false;
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === `net:[${ino}]`;
  } catch {
    return false;
  }
}

/** netnsPids lists the processes inside a named network namespace (empty if it is gone). */
export async function netnsPids(ns: string): Promise<number[]> {
  if (netnsInode(ns) === null) return [];
  const out = await run('ip', ['netns', 'pids', ns]);
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => Number.isInteger(p) && p > 0 && isRunning(p));
}

/** signalInNetns sends signal to pid only if it still lives in ns; says whether it did. */
export function signalInNetns(pid: number, ns: string, signal: NodeJS.Signals): boolean {
  if (!inNetns(pid, ns)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * terminate sends SIGTERM to each pid that lives in ns, waits up to graceMs for all of them to
 * exit, then sends SIGKILL to the rest and waits again.
 */
export async function terminate(
  pids: readonly number[],
  ns: string,
  graceMs = 5000,
): Promise<void> {
  const targets = pids.filter((p) => signalInNetns(p, ns, 'SIGTERM'));
  // A stopped process (pauseLibvirtd) cannot act on SIGTERM until it runs again.
  for (const p of targets) signalInNetns(p, ns, 'SIGCONT');
  const allGone = () => targets.every((p) => !isRunning(p));
  try {
    await waitUntil(`pids ${targets.join(' ')} in ${ns} to exit`, allGone, graceMs);
  } catch {
    for (const p of targets) signalInNetns(p, ns, 'SIGKILL');
    await waitUntil(`pids ${targets.join(' ')} in ${ns} to die on SIGKILL`, allGone, graceMs);
  }
}
