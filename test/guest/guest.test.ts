import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type DomainRef, StartFlags, StatsGroups } from '../../src/libvirt/api/domains.ts';
import type { PoolRef } from '../../src/libvirt/api/storage.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { QemuProgram } from '../../src/libvirt/generated/qemu-protocol.gen.ts';
import { type DiskSpec, domainXml } from '../../src/libvirt/xml/domain.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { Cleanup } from '../support/cleanup.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost, uniqueName } from '../support/rig.ts';
import { ensurePool } from '../support/storage.ts';
import { until, within } from '../support/wait.ts';
import { GuestConsole, guestDomainType, guestImage, seedIso } from './index.ts';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// Bounds for TCG on a 2-core machine shared with other test files; a boot takes ~10 s alone.
const BUILD_MS = 600_000;
const BOOT_MS = 180_000;
const COMMAND_MS = 30_000;
const POWEROFF_MS = 60_000;
// libvirt reports the agent as not connected for a moment after it starts in the guest.
const AGENT_MS = 30_000;

/** uploadVolume creates a volume of exactly `bytes` and streams `source` into it. */
async function uploadVolume(
  conn: LibvirtConnection,
  pool: PoolRef,
  name: string,
  bytes: bigint,
  source: Readable,
): Promise<string> {
  const vol = await conn.storage.createVolume(
    pool,
    volumeXml({ name, capacityBytes: bytes, format: 'raw' }),
  );
  cleanup.add(() => conn.storage.deleteVolume(vol));
  await conn.storage.upload(vol, source);
  return conn.storage.volumePath(vol);
}

/**
 * agentCommand runs one guest agent command through libvirt's QEMU program and returns the
 * agent's `return` value.
 */
async function agentCommand(
  conn: LibvirtConnection,
  dom: DomainRef,
  execute: string,
  args?: Record<string, unknown>,
): Promise<unknown> {
  const { result } = await new QemuProgram(conn.rpc).domainAgentCommand({
    dom: dom.handle,
    cmd: JSON.stringify(args ? { execute, arguments: args } : { execute }),
    timeout: 10,
    flags: 0,
  });
  return (JSON.parse(result ?? '{}') as { return?: unknown }).return;
}

const base64 = (s: string) => Buffer.from(s).toString('base64');

/** boot defines (or, given its uuid, redefines) and starts the domain, with its console attached before it runs. */
async function boot(
  conn: LibvirtConnection,
  name: string,
  disks: readonly DiskSpec[],
  network: string,
  opts: { uuid?: string; guestAgent: boolean },
): Promise<{ dom: DomainRef; console: GuestConsole }> {
  const xml = domainXml({
    name,
    uuid: opts.uuid,
    type: guestDomainType(),
    memoryMiB: 128,
    vcpus: 1,
    disks,
    interfaces: [{ network, mac: '52:54:00:6b:75:01' }],
    guestAgent: opts.guestAgent,
  });
  const defined = await conn.domains.define(xml);
  const dom = await conn.domains.start(defined, StartFlags.PAUSED);
  cleanup.add(() => conn.domains.destroy(dom));
  const console = new GuestConsole(await conn.domains.openConsole(dom));
  cleanup.add(async () => console.close());
  await conn.domains.resume(dom);
  return { dom, console };
}

describe('the test guest image', () => {
  it(
    'boots from a virtio disk, reads its NoCloud seed, runs its guest agent, keeps files, sends traffic and powers off on ACPI',
    async () => {
      const t0 = performance.now();
      const image = await within(guestImage(), BUILD_MS, 'building the guest image');
      const buildMs = performance.now() - t0;
      expect(image.format).toBe('raw');
      expect(image.sha512).toMatch(/^[0-9a-f]{128}$/);

      const conn = await openTls(rigHost('hv2'));
      cleanup.add(() => conn.close());
      const pool = await ensurePool(conn);
      const network = await ensureGuestNetwork(conn);
      const name = uniqueName('guest');

      const basePath = await uploadVolume(
        conn,
        pool,
        `${name}-base.img`,
        image.bytes,
        createReadStream(image.path),
      );
      const overlay = await conn.storage.createVolume(
        pool,
        volumeXml({
          name: `${name}.qcow2`,
          capacityBytes: image.bytes,
          format: 'qcow2',
          backing: { path: basePath, format: 'raw' },
        }),
      );
      cleanup.add(() => conn.storage.deleteVolume(overlay));
      const overlayPath = await conn.storage.volumePath(overlay);

      const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKumoTestKey "quoted" kumo@test';
      const iso = await seedIso({
        instanceId: 'i-0123',
        hostname: 'vm-guest',
        publicKeys: [key, 'ssh-rsa AAAAB3NzaC1yc2E second@test'],
        userData: '#!/bin/sh\necho "user-data ran on $(hostname) as $(id -u)"\n',
      });
      const seedPath = await uploadVolume(
        conn,
        pool,
        `${name}-seed.iso`,
        BigInt(iso.length),
        Readable.from([iso]),
      );
      const vda: DiskSpec = { file: overlayPath, format: 'qcow2', target: 'vda' };
      const cdrom: DiskSpec = {
        file: seedPath,
        format: 'raw',
        target: 'sda',
        device: 'cdrom',
        bus: 'scsi',
      };

      // First boot: with the seed.
      const t1 = performance.now();
      const first = await boot(conn, name, [vda, cdrom], network, { guestAgent: true });
      cleanup.add(() => conn.domains.undefine(first.dom));
      const con = first.console;
      await con.waitFor('KUMO-GUEST READY', BOOT_MS);
      const bootMs = performance.now() - t1;
      expect(con.output).toMatch(/Linux version \S+-cloud-amd64/); // the kernel's own lines show
      const markers = con.markers();
      expect(markers[0]).toBe('BOOTED');
      expect(markers).toContain('INSTANCE-ID i-0123');
      expect(markers).toContain('HOSTNAME vm-guest');
      expect(markers).toContain(`SSH-KEY ${key}`);
      expect(markers).toContain('SSH-KEY ssh-rsa AAAAB3NzaC1yc2E second@test');
      expect(markers).toContain('USER-DATA-END 0');
      expect(con.output).toContain('user-data ran on vm-guest as 0\n');
      expect(markers).toContainEqual(
        expect.stringMatching(/^NET eth0 52:54:00:6b:75:01 169\.254\./),
      );
      expect(markers).toContainEqual(expect.stringMatching(/^AGENT \/dev\/vport\d+p\d+$/));
      expect(markers).not.toContain('NO-SEED');
      expect(markers.filter((m) => m.startsWith('MODULE-FAILED'))).toEqual([]);
      expect(markers.at(-1)).toBe('READY');

      // The agent answers, and runs a shell command with its output captured.
      const t3 = performance.now();
      const ping = await until(
        () => agentCommand(conn, first.dom, 'guest-ping').catch(() => undefined),
        AGENT_MS,
        'the guest agent to answer guest-ping',
      );
      const agentMs = performance.now() - t3;
      expect(ping).toEqual({});
      const { pid } = (await agentCommand(conn, first.dom, 'guest-exec', {
        path: '/bin/sh',
        arg: ['-c', 'echo hi; echo err >&2; exit 3'],
        'capture-output': true,
      })) as { pid: number };
      // The agent hands out the output once the command has exited, with its status.
      const exited = await until(
        async () => {
          const s = (await agentCommand(conn, first.dom, 'guest-exec-status', { pid })) as {
            exited: boolean;
          };
          return s.exited ? s : undefined;
        },
        COMMAND_MS,
        'the guest command to exit',
      );
      expect(exited).toEqual({
        exited: true,
        exitcode: 3,
        'out-data': base64('hi\n'),
        'out-truncated': false,
        'err-data': base64('err\n'),
        'err-truncated': false,
      });

      const written = await con.run(
        'echo kept-on-disk > /data/probe.txt; sync; cat /data/probe.txt',
        COMMAND_MS,
      );
      expect(written).toEqual({ output: 'kept-on-disk\n', status: 0 });
      expect((await con.run('hostname', COMMAND_MS)).output).toBe('vm-guest\n');

      const traffic = await con.run('kumo-traffic 10', COMMAND_MS);
      expect(traffic.output).toMatch(/^KUMO-GUEST TRAFFIC 10 \d+\n$/);
      const [stats] = await conn.domains.stats([first.dom], StatsGroups.INTERFACE);
      // libvirt reports a tap's counters from the guest's side: tx is what the guest sent.
      expect(BigInt(stats?.stats['net.0.tx.pkts'] ?? 0)).toBeGreaterThanOrEqual(15n);
      expect(BigInt(stats?.stats['net.0.tx.bytes'] ?? 0)).toBeGreaterThan(0n);

      const t2 = performance.now();
      await conn.domains.shutdown(first.dom);
      await con.waitFor('KUMO-GUEST POWEROFF', POWEROFF_MS);
      await until(
        async () => ((await conn.domains.state(first.dom)).state === 'shutoff' ? true : undefined),
        POWEROFF_MS,
        'the guest to power off',
      );
      const poweroffMs = performance.now() - t2;

      // Second boot: no seed and no agent channel this time, and the file written before is still
      // on the disk.
      const second = await boot(conn, name, [vda], network, {
        uuid: first.dom.uuid,
        guestAgent: false,
      });
      await second.console.waitFor('KUMO-GUEST READY', BOOT_MS);
      expect(second.console.markers()).toContain('NO-SEED');
      expect(second.console.markers()).toContain('NO-AGENT');
      expect(second.console.markers()).not.toContainEqual(expect.stringMatching(/^INSTANCE-ID/));
      expect(await second.console.run('cat /data/probe.txt', COMMAND_MS)).toEqual({
        output: 'kept-on-disk\n',
        status: 0,
      });
      await conn.domains.shutdown(second.dom);
      await until(
        async () => ((await conn.domains.state(second.dom)).state === 'shutoff' ? true : undefined),
        POWEROFF_MS,
        'the guest to power off again',
      );

      console.log(
        `guest: ${guestDomainType()} domain; image ${image.bytes} bytes; build ${Math.round(buildMs)} ms; ` +
          `boot to READY ${Math.round(bootMs)} ms; agent answering ${Math.round(agentMs)} ms after READY; ` +
          `ACPI power-off ${Math.round(poweroffMs)} ms`,
      );
    },
    BUILD_MS + 3 * BOOT_MS,
  );
});
