import { afterAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isUnsupported } from '../../src/libvirt/errors.ts';
import { parseCapabilities } from '../../src/libvirt/xml/capabilities.ts';
import { openSsh, openTls, openUnix, rigHost } from '../support/rig.ts';
import { rejection } from '../support/wait.ts';

const opened: LibvirtConnection[] = [];
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
});

describe.each([
  ['unix', 'hv1', openUnix],
  ['tls', 'hv1', openTls],
  ['tls', 'hv2', openTls],
  ['ssh', 'hv1', openSsh],
  ['ssh', 'hv2', openSsh],
] as const)('over %s to %s', (_transport, name, open) => {
  it('opens, identifies the host and reads its facts', async () => {
    const h = rigHost(name);
    const conn = await open(h);
    opened.push(conn);
    expect(conn.libVersion).toBeGreaterThanOrEqual(9_000_000);
    expect(conn.features).toEqual({
      eventCallbacks: true,
      migrationParams: true,
      changeProtection: true,
    });
    expect(await conn.host.hostname()).toBe(h.hostname);
    expect(await conn.host.uri()).toBe('qemu:///system');
    const info = await conn.host.info();
    expect(info.model).toBe('x86_64');
    expect(info.cpus).toBeGreaterThan(0);
    expect(info.memoryKiB).toBeGreaterThan(1024 * 1024);
    const caps = parseCapabilities(await conn.host.capabilities());
    expect(caps.uuid).toBe(h.uuid);
    expect(caps.guests.some((g) => g.arch === 'x86_64' && g.domainTypes.includes('qemu'))).toBe(
      true,
    );
    expect(await conn.host.freeMemoryBytes()).toBeGreaterThan(0);
  });
});

describe('ssh netcat fallback', () => {
  it('reaches the daemon socket with nc when asked to (proxy=netcat)', async () => {
    const h = rigHost('hv2');
    const conn = await openSsh(h, {}, `${h.sshUri}&proxy=netcat`);
    opened.push(conn);
    expect(await conn.host.hostname()).toBe(h.hostname);
  });
});

describe('one connection', () => {
  it('multiplexes many calls in flight and matches each reply to its call', async () => {
    const h = rigHost('hv1');
    const conn = await openTls(h, { maxInFlight: 4 });
    opened.push(conn);
    const calls = Array.from({ length: 200 }, (_, i) =>
      i % 3 === 0
        ? conn.host.hostname()
        : i % 3 === 1
          ? conn.host.uri()
          : conn.host.info().then((x) => x.model),
    );
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      expect(r).toBe(i % 3 === 0 ? h.hostname : i % 3 === 1 ? 'qemu:///system' : 'x86_64');
    });
  });

  it('reports a procedure the daemon does not know as unsupported and stays usable', async () => {
    const conn = await openTls(rigHost('hv2'));
    opened.push(conn);
    const err = await rejection(
      conn.rpc.call(
        { program: 0x20008086, version: 1, procedure: 444, name: 'FUTURE_PROC' },
        null,
        undefined,
        null,
      ),
    );
    expect(isUnsupported(err)).toBe(true);
    expect(await conn.host.hostname()).toBe(rigHost('hv2').hostname);
  });

  it('closes cleanly and refuses calls afterwards with a closed error', async () => {
    const conn = await openTls(rigHost('hv1'));
    await conn.close();
    expect(conn.isOpen).toBe(false);
    const err = await rejection(conn.host.hostname());
    expect(err).toMatchObject({ name: 'LibvirtError', kind: 'closed' });
  });
});
