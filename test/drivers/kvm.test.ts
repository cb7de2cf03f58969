import { cpus, totalmem } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import type { HostCredentials } from '../../src/drivers/credentials.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import type { HypervisorSession } from '../../src/drivers/session.ts';
import type { RigHost } from '../rig/index.ts';
import { openTls, rig, rigHost, unixUri } from '../support/rig.ts';
import { ensurePool, TEST_POOL } from '../support/storage.ts';
import { within } from '../support/wait.ts';
import {
  pemCredentials,
  pkiCredentials,
  sshCredentials,
  sshUri,
  tlsUri,
} from './rig-credentials.ts';

const registry = DriverRegistry.withBuiltins();
const sessions: HypervisorSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

async function connect(uri: string, credentials: HostCredentials): Promise<HypervisorSession> {
  const s = await registry.connect({ uri, credentials, timeoutMs: 8000 });
  sessions.push(s);
  return s;
}

type Way = [string, 'hv1' | 'hv2', string, (h: RigHost) => [string, HostCredentials]];
const ways: Way[] = [
  ['kvm-tls (PEM)', 'hv1', 'kvm-tls', (h) => [tlsUri(h), pemCredentials()]],
  ['kvm-tls (PKI dir)', 'hv2', 'kvm-tls', (h) => [tlsUri(h), pkiCredentials()]],
  ['kvm-ssh', 'hv1', 'kvm-ssh', (h) => [sshUri(h), sshCredentials(h)]],
  ['kvm-ssh', 'hv2', 'kvm-ssh', (h) => [sshUri(h), sshCredentials(h)]],
  ['kvm-local (unix socket)', 'hv1', 'kvm-local', (h) => [unixUri(h), { kind: 'none' }]],
];

describe.each(ways)('%s to %s', (_what, name, driver, target) => {
  it('connects and fills in every fact', async () => {
    const h = rigHost(name);
    const s = await connect(...target(h));
    expect(s.driver).toBe(driver);
    expect(s.uri).not.toContain('?');
    const f = await s.facts();
    expect(f.hostname).toBe(h.hostname);
    expect(f.uuid).toBe(h.uuid);
    expect(f.arch).toBe('x86_64');
    expect(f.cpuModel).not.toBe('');
    // The rig's hosts are namespaces of this machine: they have its CPUs.
    expect(f.cpus).toBe(cpus().length);
    expect(f.sockets * f.cores * f.threads).toBe(f.cpus);
    expect(f.numaNodes).toBeGreaterThanOrEqual(1);
    expect(f.memoryBytes).toBeGreaterThan(512 * 1024 * 1024);
    expect(f.memoryBytes).toBeLessThanOrEqual(totalmem());
    expect(f.hypervisor).toMatch(/^QEMU \d+\.\d+\.\d+$/);
    expect(f.libvirtVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(f.kvm).toBe(rig().domainType === 'kvm');
    expect(f.domainTypes).toContain('qemu');
    expect(f.storage.pool).toBeNull();
    expect(f.storage.availableBytes).toBeLessThanOrEqual(f.storage.capacityBytes);
  });
});

describe('facts', () => {
  it('agree with what the libvirt client reads directly', async () => {
    const h = rigHost('hv2');
    const s = await connect(tlsUri(h), pkiCredentials());
    const f = await s.facts();
    const conn = await openTls(h);
    try {
      const info = await conn.host.info();
      expect(f.cpus).toBe(info.cpus);
      expect(f.mhz).toBe(info.mhz);
      expect(f.libvirtVersion).toBe(
        `${Math.floor(conn.libVersion / 1e6)}.${Math.floor(conn.libVersion / 1e3) % 1000}.${conn.libVersion % 1000}`,
      );
      expect(f.storage.pools).toBe((await conn.storage.listPools(2)).length);
    } finally {
      await conn.close();
    }
  });

  it('measure one named pool, or none when it does not exist (yet)', async () => {
    const h = rigHost('hv1');
    const direct = await openTls(h);
    try {
      const info = await direct.storage.poolInfo(await ensurePool(direct));
      const s = await connect(tlsUri(h), pkiCredentials());
      const f = await s.facts({ storagePool: TEST_POOL.name });
      expect(f.storage).toMatchObject({ pool: TEST_POOL.name, pools: 1 });
      expect(f.storage.capacityBytes).toBe(Number(info.capacity));
      expect((await s.facts({ storagePool: 'kumo-no-such-pool' })).storage).toEqual({
        pool: 'kumo-no-such-pool',
        pools: 0,
        capacityBytes: 0,
        availableBytes: 0,
      });
    } finally {
      await direct.close();
    }
  });
});

describe('metrics', () => {
  it('are sane: CPU usage a fraction, memory within the machine', async () => {
    const s = await connect(sshUri(rigHost('hv2')), sshCredentials(rigHost('hv2')));
    const first = await s.metrics();
    const second = await s.metrics();
    for (const m of [first, second]) {
      expect(m.cpu.usage).toBeGreaterThanOrEqual(0);
      expect(m.cpu.usage).toBeLessThanOrEqual(1);
      // NODE_GET_MEMORY_STATS reads the shared kernel's /proc/meminfo.
      expect(m.memory.totalBytes).toBe(totalmem());
      expect(m.memory.freeBytes).toBeLessThanOrEqual(m.memory.totalBytes);
      expect(m.memory.usedBytes).toBeGreaterThan(0);
      expect(m.memory.usedBytes).toBeLessThan(m.memory.totalBytes);
    }
    expect(first.cpu.intervalMs).toBeGreaterThanOrEqual(200);
    expect(second.at).toBeGreaterThanOrEqual(first.at);
    expect(second.cpu.idleNs).toBeGreaterThanOrEqual(first.cpu.idleNs);
  });

  it('HostApi reads CPU and memory stats with the two-call pattern, and the hypervisor', async () => {
    const conn = await openTls(rigHost('hv1'));
    try {
      const cpu = await conn.host.cpuStats();
      expect(cpu.user + cpu.kernel + cpu.idle).toBeGreaterThan(0n);
      const mem = await conn.host.memoryStats();
      expect(Number(mem.totalKiB) * 1024).toBe(totalmem());
      expect(mem.freeKiB).toBeLessThanOrEqual(mem.totalKiB);
      expect(await conn.host.hypervisor()).toMatchObject({ type: 'QEMU' });
    } finally {
      await conn.close();
    }
  });
});

describe('sessions', () => {
  it('report closed, once, with a DriverError', async () => {
    const s = await registry.connect({
      uri: tlsUri(rigHost('hv1')),
      credentials: pkiCredentials(),
    });
    expect(s.isOpen).toBe(true);
    await s.close();
    const reason = await within(s.closed, 2000, 'closed');
    expect(reason).toMatchObject({ name: 'DriverError', code: 'CONNECTION_LOST' });
    expect(s.isOpen).toBe(false);
  });

  it('give later services the libvirt connection', async () => {
    const s = await connect(sshUri(rigHost('hv1')), sshCredentials(rigHost('hv1')));
    expect(await s.connection.host.uri()).toBe('qemu:///system');
  });
});
