import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gatewayIp, hostIp, hostName, type RigConfig, TLS_PORT, unreachableIp } from './config.ts';
import { START_TIMEOUT_MS, startHolder, startLibvirtdProcess, startSshdProcess } from './host.ts';
import { writeLibvirtConfig } from './libvirt-config.ts';
import { createBridge, createHostNetwork } from './network.ts';
import { createPki, type RigPki } from './pki.ts';
import { probeSsh, probeTls } from './probes.ts';
import { waitUntil } from './processes.ts';
import {
  fingerprint,
  knownHostsLine,
  newEd25519Key,
  sshdConfig,
  writeAuthorizedKeys,
} from './ssh.ts';
import { hostPaths, type Rig, type RigHost, saveRig } from './state.ts';

/** kvmUsable says whether QEMU can use KVM here; otherwise guests run under TCG. */
function kvmUsable(): boolean {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

// libvirt's URI parser decodes %XX in query values; keep '/' readable for people.
function queryValue(value: string): string {
  return encodeURIComponent(value).replaceAll('%2F', '/');
}

function etcHosts(cfg: RigConfig, n: number): string {
  // Every host resolves every other by name without DNS: libvirtd looks its own name up at
  // start and on migration, and a netns has no route to a resolver.
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback'];
  lines.push(`${gatewayIp(cfg.subnet)} kumo-controller`);
  for (let k = 1; k <= n; k++) lines.push(`${hostIp(cfg.subnet, k)} ${hostName(k)}`);
  return `${lines.join('\n')}\n`;
}

/** configureHost writes one host's private directories, libvirt configs, ssh key and sshd config. */
async function configureHost(
  rig: Rig,
  host: RigHost,
  pki: RigPki,
  server: { cert: string; key: string },
): Promise<string> {
  const p = hostPaths(rig.dir, host.name);
  for (const d of [p.varLibLibvirt, p.varLogLibvirt, p.varCacheLibvirt]) {
    await mkdir(d, { recursive: true });
  }
  await writeLibvirtConfig(p.etcLibvirt, {
    ip: host.ip,
    uuid: host.uuid,
    caCert: pki.caCert,
    serverCert: server.cert,
    serverKey: server.key,
    allowedDn: pki.clientDn,
  });
  const key = await newEd25519Key(p.sshHostKey, host.name);
  const publicKey = await readFile(key.publicKey, 'utf8');
  host.sshHostKeyFingerprint = fingerprint(publicKey);
  await writeFile(
    p.sshdConfig,
    sshdConfig({
      ip: host.ip,
      hostKey: p.sshHostKey,
      pidFile: p.sshdPid,
      authorizedKeys: path.join(rig.dir, 'ssh', 'authorized_keys'),
    }),
  );
  return knownHostsLine(host.ip, publicKey);
}

/** startHost brings up host's namespaces and daemons and waits until both services answer. */
async function startHost(rig: Rig, host: RigHost, hostsFile: string): Promise<void> {
  const p = hostPaths(rig.dir, host.name);
  await createHostNetwork(rig.bridge, host.name, host.ip);
  host.pids.holder = await startHolder(host.name, p, hostsFile);
  host.pids.sshd = startSshdProcess(host.pids.holder, p);
  host.pids.libvirtd = await startLibvirtdProcess(host.name, host.pids.holder, p);
  await waitUntil(
    `libvirtd on ${host.name} to accept TLS on ${host.ip}:${TLS_PORT}`,
    () => probeTls(host.ip, rig.pki.clientDir),
    START_TIMEOUT_MS,
  );
  await waitUntil(`sshd on ${host.name}`, () => probeSsh(host.ip), START_TIMEOUT_MS);
}

/**
 * buildRig creates a fresh rig of n hosts in cfg.dir. Where there was one, call teardown first.
 * The state file is written before any process starts and again as pids become known, so a
 * build that fails half-way can be torn down from it.
 */
export async function buildRig(cfg: RigConfig, n: number): Promise<Rig> {
  // Each rig starts from empty host directories: no domains or pools left from the last one.
  for (const sub of ['pki', 'ssh', 'hosts']) {
    await rm(path.join(cfg.dir, sub), { recursive: true, force: true });
  }
  await mkdir(path.join(cfg.dir, 'ssh'), { recursive: true, mode: 0o700 });
  const names = Array.from({ length: n }, (_, i) => ({
    name: hostName(i + 1),
    ip: hostIp(cfg.subnet, i + 1),
  }));
  const { pki, servers } = await createPki(path.join(cfg.dir, 'pki'), names);
  const controllerKey = await newEd25519Key(
    path.join(cfg.dir, 'ssh', 'id_ed25519'),
    'kumo-controller',
  );
  const knownHostsFile = path.join(cfg.dir, 'ssh', 'known_hosts');

  const rig: Rig = {
    dir: cfg.dir,
    subnet: cfg.subnet,
    bridge: cfg.bridge,
    domainType: kvmUsable() ? 'kvm' : 'qemu',
    pki: { caCert: pki.caCert, clientDir: pki.clientDir, bad: pki.bad },
    ssh: { ...controllerKey, knownHosts: knownHostsFile },
    unreachableIp: unreachableIp(cfg.subnet),
    hosts: names.map(({ name, ip }) => ({
      name,
      ip,
      uuid: randomUUID(),
      hostname: name,
      tlsUri: `qemu+tls://${ip}/system?pkipath=${queryValue(pki.clientDir)}`,
      sshUri: `qemu+ssh://root@${ip}/system?keyfile=${queryValue(controllerKey.privateKey)}&known_hosts=${queryValue(knownHostsFile)}`,
      sshHostKeyFingerprint: '',
      pids: { holder: 0, libvirtd: 0, sshd: 0 },
    })),
  };

  await writeAuthorizedKeys(path.join(cfg.dir, 'ssh', 'authorized_keys'), controllerKey.publicKey);
  const known: string[] = [];
  for (const host of rig.hosts) {
    const server = servers.get(host.name);
    if (!server) throw new Error(`no server certificate for ${host.name}`);
    known.push(await configureHost(rig, host, pki, server));
  }
  await writeFile(knownHostsFile, `${known.join('\n')}\n`);
  const hostsFile = path.join(cfg.dir, 'etc-hosts');
  await writeFile(hostsFile, etcHosts(cfg, n));
  saveRig(rig);

  await createBridge(cfg.bridge, cfg.subnet);
  try {
    await Promise.all(rig.hosts.map((h) => startHost(rig, h, hostsFile)));
  } finally {
    saveRig(rig);
  }
  return rig;
}
