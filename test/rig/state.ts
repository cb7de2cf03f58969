import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readConfig } from './config.ts';

/** RigHost describes one hypervisor host of the rig. */
export interface RigHost {
  name: string;
  ip: string;
  /** uuid is libvirtd's host_uuid, distinct per host (libvirt refuses to migrate to "the same host"). */
  uuid: string;
  hostname: string;
  /** tlsUri is `qemu+tls://<ip>/system?pkipath=<client dir>`. */
  tlsUri: string;
  /** sshUri is `qemu+ssh://root@<ip>/system?keyfile=<key>&known_hosts=<file>`. */
  sshUri: string;
  /** sshHostKeyFingerprint is OpenSSH style: `SHA256:<base64 without padding>`. */
  sshHostKeyFingerprint: string;
  /** pids are root-namespace pids; libvirtd's and sshd's are refreshed from their pid files. */
  pids: { holder: number; libvirtd: number; sshd: number };
}

/** Rig describes a running rig: what the tests, benchmarks and demo connect to. */
export interface Rig {
  dir: string;
  subnet: string;
  bridge: string;
  /** domainType is `kvm` when /dev/kvm is usable, else `qemu` (TCG). */
  domainType: 'kvm' | 'qemu';
  pki: {
    caCert: string;
    clientDir: string;
    bad: { expired: string; selfSigned: string; wrongCa: string; wrongDn: string };
  };
  ssh: { privateKey: string; publicKey: string; knownHosts: string };
  hosts: RigHost[];
  /** unreachableIp is an address in the rig subnet where nothing listens. */
  unreachableIp: string;
}

/** HostPaths are a host's files under the rig directory, visible from the root namespace too. */
export interface HostPaths {
  readonly dir: string;
  readonly etcLibvirt: string;
  readonly varLibLibvirt: string;
  readonly varLogLibvirt: string;
  readonly varCacheLibvirt: string;
  readonly libvirtdPid: string;
  readonly libvirtdLog: string;
  readonly sshdConfig: string;
  readonly sshdPid: string;
  readonly sshdLog: string;
  readonly sshHostKey: string;
  readonly holderLog: string;
}

/** hostPaths lays out host's directory under the rig directory. */
export function hostPaths(rigDir: string, host: string): HostPaths {
  const dir = path.join(rigDir, 'hosts', host);
  return {
    dir,
    etcLibvirt: path.join(dir, 'etc-libvirt'),
    varLibLibvirt: path.join(dir, 'var-lib-libvirt'),
    varLogLibvirt: path.join(dir, 'var-log-libvirt'),
    varCacheLibvirt: path.join(dir, 'var-cache-libvirt'),
    libvirtdPid: path.join(dir, 'libvirtd.pid'),
    libvirtdLog: path.join(dir, 'libvirtd.log'),
    sshdConfig: path.join(dir, 'sshd_config'),
    sshdPid: path.join(dir, 'sshd.pid'),
    sshdLog: path.join(dir, 'sshd.log'),
    sshHostKey: path.join(dir, 'ssh_host_ed25519_key'),
    holderLog: path.join(dir, 'holder.log'),
  };
}

/** stateFile is the rig's descriptor on disk. */
export function stateFile(rigDir: string): string {
  return path.join(rigDir, 'rig.json');
}

/** readPidFile reads a daemon's pid file; 0 when it is missing or empty. */
export function readPidFile(file: string): number {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/** saveRig writes the descriptor atomically, so a reader never sees half a file. */
export function saveRig(rig: Rig): void {
  const file = stateFile(rig.dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(rig, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/**
 * loadRig reads the state file of the rig in KUMO_RIG_DIR, or null when there is none. Daemon
 * pids come from the daemons' own pid files when present, so a libvirtd restarted by another
 * process (a test's startLibvirtd) is seen here.
 */
export function loadRig(dir: string = readConfig().dir): Rig | null {
  let rig: Rig;
  try {
    rig = JSON.parse(readFileSync(stateFile(dir), 'utf8')) as Rig;
  } catch {
    return null;
  }
  for (const host of rig.hosts) {
    const p = hostPaths(rig.dir, host.name);
    host.pids.libvirtd = readPidFile(p.libvirtdPid) || host.pids.libvirtd;
    host.pids.sshd = readPidFile(p.sshdPid) || host.pids.sshd;
  }
  return rig;
}
