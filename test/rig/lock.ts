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
  const file = path.join(dir, 'rig.lock');
  await waitUntil(`the rig lock ${file}`, () => tryAcquire(file), LOCK_TIMEOUT_MS, 100);
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
