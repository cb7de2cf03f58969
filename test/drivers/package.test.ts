import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import type { HypervisorSession } from '../../src/drivers/session.ts';
import { rig, rigHost } from '../support/rig.ts';
import { pkiCredentials } from './rig-credentials.ts';

const PACKAGE = resolve(import.meta.dirname, '../fixtures/kumo-driver-libvirt-test');
const sessions: HypervisorSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});

describe('the example driver package (libvirt test driver over TLS)', () => {
  it('is loaded by name and drives test:///default on a rig host', async () => {
    const registry = DriverRegistry.withBuiltins();
    await registry.loadPackages([PACKAGE]);
    const h = rigHost('hv1');
    const uri = `test+tls://${h.ip}/default`;
    const driver = registry.forUri(uri);
    expect(driver.name).toBe('libvirt-test');
    expect(driver.capabilities.has('kvm')).toBe(false);
    await registry.validate(uri, pkiCredentials());

    const s = await registry.connect({ uri, credentials: pkiCredentials(), timeoutMs: 8000 });
    sessions.push(s);
    expect(s.driver).toBe('libvirt-test');
    expect(await s.connection.host.uri()).toBe('test:///default');
    const f = await s.facts();
    expect(f).toMatchObject({ hostname: h.hostname, kvm: false, domainTypes: ['test'] });
    expect(f.hypervisor).toMatch(/^TEST /);
    // libvirt's test driver simulates an 8-core, 2-socket, 2-node host with a default pool.
    expect(f.cpus).toBe(16);
    expect(f.storage.pools).toBeGreaterThanOrEqual(1);
    const domains = await s.connection.domains.list();
    expect(domains.map((d) => d.name)).toContain('test');
    // The test driver lacks NODE_GET_MEMORY_STATS: metrics fall back to node info.
    const m = await s.metrics();
    expect(m.memory.totalBytes).toBe(f.memoryBytes);
    expect(m.cpu.usage).toBeGreaterThanOrEqual(0);
  });

  it('is refused with the transport’s checks, like the built-in drivers', async () => {
    const registry = DriverRegistry.withBuiltins();
    await registry.loadPackages([PACKAGE]);
    const h = rigHost('hv1');
    await expect(
      registry.validate(`test+tls://${h.ip}/system`, pkiCredentials()),
    ).rejects.toMatchObject({ code: 'INVALID_URI' });
    await expect(
      registry.connect({
        uri: `test+tls://${h.ip}/default`,
        credentials: pkiCredentials(rig().pki.bad.wrongCa),
        timeoutMs: 4000,
      }),
    ).rejects.toMatchObject({ code: 'TLS_UNTRUSTED' });
  });
});
