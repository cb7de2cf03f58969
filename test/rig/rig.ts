import { setTimeout as sleep } from 'node:timers/promises';
import { buildRig } from './build.ts';
import { MAX_HOSTS, type RigConfig, readConfig } from './config.ts';
import { type HostHealth, rigHealth } from './health.ts';
import { dropLease, isAutoDown, leaseHolders, setAutoDown, takeLease } from './leases.ts';
import { withRigLock } from './lock.ts';
import { loadRig, type Rig } from './state.ts';
import { teardown } from './teardown.ts';

// How long to wait for a shared rig's unhealthy host before rebuilding: another run's fault
// test may have paused or killed its libvirtd on purpose (a few seconds at most).
const SHARED_HEALTH_WAIT_MS = 60_000;

async function becomesHealthy(cfg: RigConfig, boundMs: number): Promise<Rig | null> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    // Reload each time: another process may have restarted a daemon (new pid files).
    const rig = loadRig(cfg.dir);
    if (!rig) return null;
    if ((await rigHealth(rig)).every((h) => h.healthy)) return rig;
    if (Date.now() >= deadline) return null;
    await sleep(250);
  }
}

/** upLocked reuses a healthy rig of at least n hosts or builds one; call it under the lock. */
async function upLocked(cfg: RigConfig, n: number): Promise<{ rig: Rig; reused: boolean }> {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HOSTS) {
    throw new Error(`a rig has 1 to ${MAX_HOSTS} hosts, not ${n}`);
  }
  const existing = loadRig(cfg.dir);
  const users = leaseHolders(cfg.dir).length;
  if (existing && existing.subnet === cfg.subnet && existing.hosts.length >= n) {
    const healthy = await becomesHealthy(cfg, users > 0 ? SHARED_HEALTH_WAIT_MS : 0);
    if (healthy) return { rig: healthy, reused: true };
  } else if (existing && users > 0) {
    throw new Error(
      `the rig in ${cfg.dir} has ${existing.hosts.length} hosts and ${users} other process(es) use it; wait for them, or run \`node test/rig/cli.ts down\` first`,
    );
  }
  await teardown(cfg, existing);
  return { rig: await buildRig(cfg, n), reused: false };
}

/**
 * rigUpDetailed is rigUp that also says whether it reused a running rig. The rig then stays up
 * until rigDown, whoever started it.
 */
export async function rigUpDetailed(n = 3): Promise<{ rig: Rig; reused: boolean }> {
  const cfg = readConfig();
  return withRigLock(cfg.dir, async () => {
    const result = await upLocked(cfg, n);
    setAutoDown(cfg.dir, false);
    return result;
  });
}

/**
 * rigUp returns a healthy rig of at least n hosts: the running one if it is healthy and big
 * enough, else a new one (after tearing down whatever the old state file records).
 */
export async function rigUp(n = 3): Promise<Rig> {
  return (await rigUpDetailed(n)).rig;
}

/**
 * rigAcquire is rigUp for a test run: it holds a lease on the rig until rigRelease, and a rig
 * it had to start is taken down by the last run to release it, unless keep is set.
 */
export async function rigAcquire(n = 3, opts: { keep?: boolean } = {}): Promise<Rig> {
  const cfg = readConfig();
  takeLease(cfg.dir);
  try {
    return await withRigLock(cfg.dir, async () => {
      const { rig, reused } = await upLocked(cfg, n);
      if (opts.keep) setAutoDown(cfg.dir, false);
      else if (!reused) setAutoDown(cfg.dir, true);
      return rig;
    });
  } catch (err) {
    dropLease(cfg.dir);
    throw err;
  }
}

/** rigRelease drops this run's lease; the last run out takes down a rig that a test run started. */
export async function rigRelease(): Promise<void> {
  const cfg = readConfig();
  await withRigLock(cfg.dir, async () => {
    dropLease(cfg.dir);
    if (leaseHolders(cfg.dir).length === 0 && isAutoDown(cfg.dir)) {
      await teardown(cfg, loadRig(cfg.dir));
      setAutoDown(cfg.dir, false);
    }
  });
}

/**
 * rigDown stops every process of the rig by pid and removes its namespaces, veths and bridge.
 * It refuses while a test run holds a lease on the rig, unless force is set.
 */
export async function rigDown(opts: { force?: boolean } = {}): Promise<void> {
  const cfg = readConfig();
  await withRigLock(cfg.dir, async () => {
    const users = leaseHolders(cfg.dir);
    if (users.length > 0 && !opts.force) {
      throw new Error(
        `the rig is in use by pid ${users.join(', ')} (a test run); wait for it, or use \`down --force\``,
      );
    }
    await teardown(cfg, loadRig(cfg.dir));
    setAutoDown(cfg.dir, false);
  });
}

/** rigStatus is the current descriptor and each host's health, or null when no rig is up. */
export async function rigStatus(): Promise<{ rig: Rig; health: HostHealth[] } | null> {
  const rig = loadRig();
  return rig ? { rig, health: await rigHealth(rig) } : null;
}
