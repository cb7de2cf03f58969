import { readFileSync } from 'node:fs';
import { netnsName } from './config.ts';
import { commandName, isRunning, parentPid, spawnDetached, waitUntil } from './processes.ts';
import { type HostPaths, readPidFile } from './state.ts';

/** START_TIMEOUT_MS bounds every wait for a host's process to come up. */
export const START_TIMEOUT_MS = 20_000;

/**
 * HOLDER_SCRIPT runs inside `unshare --mount --uts` in the host's netns and gives the host its
 * own view: a tmpfs /run (libvirt sockets, sshd's privsep dir), its own libvirt config, state,
 * logs and caches, an /etc/hosts naming every rig host, and its hostname. It then becomes the
 * namespaces' holder (`sleep infinity`), which every daemon joins with nsenter.
 * Arguments: $1 the host's directory, $2 the hosts file, $3 the hostname.
 */
const HOLDER_SCRIPT = `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/lock
for d in etc/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt; do
  mkdir -p "/$d"
  mount --bind "$1/$(echo "$d" | tr / -)" "/$d"
done
mount --bind "$2" /etc/hosts
echo "$3" > /proc/sys/kernel/hostname
exec sleep infinity
`;

/** logTail is the end of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** nsenterArgs joins a host's mount, UTS and network namespaces through its holder. */
function nsenterArgs(holderPid: number): string[] {
  // No --pid: nsenter then execs the command itself, so its pid is the daemon's pid.
  return ['--target', String(holderPid), '--mount', '--uts', '--net', '--'];
}

/** startHolder creates host's mount and UTS namespaces inside its netns; returns the holder pid. */
export async function startHolder(
  host: string,
  paths: HostPaths,
  hostsFile: string,
): Promise<number> {
  const pid = spawnDetached(
    'ip',
    [
      'netns',
      'exec',
      netnsName(host),
      'unshare',
      '--mount',
      '--uts',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      HOLDER_SCRIPT,
      'sh',
      paths.dir,
      hostsFile,
      host,
    ],
    paths.holderLog,
  );
  // ip, unshare and sh all exec in place, so the pid becomes `sleep` once the mounts are done.
  await waitUntil(
    `${host}'s namespace holder`,
    () => {
      if (!isRunning(pid)) throw new Error(`${host}'s holder failed:\n${logTail(paths.holderLog)}`);
      return commandName(pid) === 'sleep';
    },
    START_TIMEOUT_MS,
    25,
  );
  return pid;
}

/**
 * startLibvirtdProcess starts libvirtd in host's namespaces and returns its pid once it has
 * written its pid file. libvirtd runs under `tini -s`, a child subreaper: QEMU daemonizes, and
 * orphans would otherwise go to this machine's PID 1, which reaps only every second or two;
 * until then libvirt sees the zombie QEMU as alive, and every domain destroy or migration
 * waits for it (1.4 s measured, against 0.25 s with tini).
 */
export async function startLibvirtdProcess(
  host: string,
  holderPid: number,
  paths: HostPaths,
): Promise<number> {
  const tiniPid = spawnDetached(
    'nsenter',
    [
      ...nsenterArgs(holderPid),
      'tini',
      '-s',
      '--',
      'libvirtd',
      '--listen',
      '--pid-file',
      paths.libvirtdPid,
    ],
    paths.libvirtdLog,
  );
  let pid = 0;
  await waitUntil(
    `libvirtd on ${host} to write its pid file`,
    () => {
      if (!isRunning(tiniPid)) {
        throw new Error(`libvirtd on ${host} exited:\n${logTail(paths.libvirtdLog)}`);
      }
      pid = readPidFile(paths.libvirtdPid);
      return pid > 0 && parentPid(pid) === tiniPid;
    },
    START_TIMEOUT_MS,
    25,
  );
  return pid;
}

/** startSshdProcess starts host's sshd in its namespaces (in the foreground, -D); returns its pid. */
export function startSshdProcess(holderPid: number, paths: HostPaths): number {
  // sshd re-executes itself for every connection, so it must be started by absolute path.
  return spawnDetached(
    'nsenter',
    [
      ...nsenterArgs(holderPid),
      '/usr/sbin/sshd',
      '-D',
      '-f',
      paths.sshdConfig,
      '-E',
      paths.sshdLog,
    ],
    paths.sshdLog,
  );
}
