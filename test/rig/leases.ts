import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRunning } from './processes.ts';

// Several test runs (two developers' sessions, a benchmark) may share one rig on a machine.
// Each holds a lease, a file named after its pid, while it uses the rig: a run must not tear
// the rig down, or rebuild it, under another run's feet.

function leaseDir(rigDir: string): string {
  return path.join(rigDir, 'leases');
}

/** takeLease records that this process uses the rig. */
export function takeLease(rigDir: string): void {
  mkdirSync(leaseDir(rigDir), { recursive: true });
  writeFileSync(path.join(leaseDir(rigDir), String(process.pid)), '');
}

/** dropLease records that this process is done with the rig. */
export function dropLease(rigDir: string): void {
  rmSync(path.join(leaseDir(rigDir), String(process.pid)), { force: true });
}

/** leaseHolders lists the live processes other than this one that hold a lease (and forgets dead ones). */
export function leaseHolders(rigDir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(leaseDir(rigDir));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (isRunning(pid)) live.push(pid);
    else rmSync(path.join(leaseDir(rigDir), name), { force: true });
  }
  return live;
}

// A rig a test run started is taken down by the last run that leaves it; a rig a person or a
// benchmark started (`cli up`, rigUp) stays up.
function autoDownMarker(rigDir: string): string {
  return path.join(rigDir, 'auto-down');
}

/** setAutoDown says whether the last lease holder should take the rig down. */
export function setAutoDown(rigDir: string, on: boolean): void {
  if (on) writeFileSync(autoDownMarker(rigDir), '');
  else rmSync(autoDownMarker(rigDir), { force: true });
}

/** isAutoDown says whether the rig was started by a test run, for the last one to take down. */
export function isAutoDown(rigDir: string): boolean {
  return existsSync(autoDownMarker(rigDir));
}
