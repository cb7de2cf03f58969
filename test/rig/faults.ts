import path from 'node:path';
import { netnsName, TLS_PORT } from './config.ts';
import { START_TIMEOUT_MS, startLibvirtdProcess } from './host.ts';
import { acquireLock } from './lock.ts';
import { probeTls } from './probes.ts';
import { inNetns, isRunning, isStopped, run, signalInNetns, waitUntil } from './processes.ts';
import { hostPaths, loadRig, type Rig, type RigHost } from './state.ts';

const STOP_TIMEOUT_MS = 15_000;

/** HostRef names a rig host by its descriptor or its name (`hv1`). */
export type HostRef = RigHost | string;

// The caller's descriptor may be stale (another process restarted libvirtd): the state file and
// the daemons' pid files are the truth.
function current(ref: HostRef): { rig: Rig; host: RigHost } {
  const rig = loadRig();
  if (!rig) throw new Error('no rig is up (run `node test/rig/cli.ts up`)');
  const name = typeof ref === 'string' ? ref : ref.name;
  const host = rig.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`the rig has no host ${name}`);
  return { rig, host };
}

function syncPid(ref: HostRef, pid: number): void {
  if (typeof ref !== 'string') ref.pids.libvirtd = pid;
}

/**
 * stopLibvirtd sends signal (default SIGKILL: a crash) to host's libvirtd and waits until it is
 * gone. QEMU processes keep running, as they do when libvirtd dies on a real host.
 */
export async function stopLibvirtd(
  ref: HostRef,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  const { host } = current(ref);
  const ns = netnsName(host.name);
  const pid = host.pids.libvirtd;
  if (!inNetns(pid, ns)) return;
  signalInNetns(pid, ns, signal);
  // A paused libvirtd cannot act on a catchable signal until it runs again.
  if (signal !== 'SIGKILL' && isStopped(pid)) signalInNetns(pid, ns, 'SIGCONT');
  await waitUntil(
    `libvirtd on ${host.name} (pid ${pid}) to exit on ${signal}`,
    () => !isRunning(pid),
    STOP_TIMEOUT_MS,
    50,
  );
}

/**
 * startLibvirtd starts host's libvirtd again in the host's namespaces (it finds its running
 * QEMU processes again) and waits until TLS port 16514 accepts the controller. A libvirtd that
 * is already running is only waited for.
 */
export async function startLibvirtd(ref: HostRef): Promise<void> {
  const { rig, host } = current(ref);
  let pid = host.pids.libvirtd;
  if (!inNetns(pid, netnsName(host.name))) {
    pid = await startLibvirtdProcess(host.name, host.pids.holder, hostPaths(rig.dir, host.name));
  }
  await waitUntil(
    `libvirtd on ${host.name} to accept TLS on ${host.ip}:${TLS_PORT}`,
    () => probeTls(host.ip, rig.pki.clientDir),
    START_TIMEOUT_MS,
    50,
  );
  syncPid(ref, pid);
}

/**
 * pauseLibvirtd freezes host's libvirtd (SIGSTOP): connections stay open but nothing answers,
 * not even keepalive pings.
 */
export async function pauseLibvirtd(ref: HostRef): Promise<void> {
  const { host } = current(ref);
  const pid = host.pids.libvirtd;
  if (!signalInNetns(pid, netnsName(host.name), 'SIGSTOP')) {
    throw new Error(`libvirtd on ${host.name} is not running`);
  }
  await waitUntil(`libvirtd on ${host.name} to stop`, () => isStopped(pid), STOP_TIMEOUT_MS, 10);
}

/** resumeLibvirtd lets a paused libvirtd run again (SIGCONT). */
export async function resumeLibvirtd(ref: HostRef): Promise<void> {
  const { host } = current(ref);
  const pid = host.pids.libvirtd;
  if (!signalInNetns(pid, netnsName(host.name), 'SIGCONT')) {
    throw new Error(`libvirtd on ${host.name} is not running`);
  }
  await waitUntil(`libvirtd on ${host.name} to resume`, () => !isStopped(pid), STOP_TIMEOUT_MS, 10);
}

/**
 * setHostLink takes host's network link down (as a pulled cable: no packet in or out, no reset
 * sent) or brings it up again.
 */
export async function setHostLink(ref: HostRef, up: boolean): Promise<void> {
  const { host } = current(ref);
  await run('ip', ['-n', netnsName(host.name), 'link', 'set', 'eth0', up ? 'up' : 'down']);
}

/**
 * holdHostForFaults gives this test file the host to break (its libvirtd killed, frozen or cut
 * off) until the returned function is called: test files that break the same host run one
 * after the other, whatever the runner's parallelism.
 */
export function holdHostForFaults(ref: HostRef): Promise<() => void> {
  const { rig, host } = current(ref);
  return acquireLock(path.join(rig.dir, `${host.name}.faults.lock`), 600_000);
}
