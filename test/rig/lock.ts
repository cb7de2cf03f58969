import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRunning, waitUntil } from './processes.ts';
import { readPidFile } from './state.ts';

const LOCK_TIMEOUT_MS = 180_000;

function tryAcquire(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A holder that died (Ctrl-C during `up`) leaves its lock behind; take it over.
    if (!isRunning(readPidFile(file))) rmSync(file, { force: true });
    return false;
  }
}

/**
 * withRigLock runs fn while holding the rig directory's lock, so a test run, a benchmark and a
 * person's `cli up` never build or tear down the same rig at once.
 */
export async function withRigLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(path.join(dir, 'rig.lock'), LOCK_TIMEOUT_MS);
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * acquireLock waits (up to timeoutMs) until this process holds the lock file, and returns the
 * function that releases it. A holder that died is taken over.
 */
export async function acquireLock(file: string, timeoutMs: number): Promise<() => void> {
  await waitUntil(`the lock ${file}`, () => tryAcquire(file), timeoutMs, 100);
  return () => rmSync(file, { force: true });
}
