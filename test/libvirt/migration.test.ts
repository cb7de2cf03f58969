import { afterEach, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import { MigrateFlags, type MigratePhase, migrate } from '../../src/libvirt/migrate.ts';
import { domainXml } from '../../src/libvirt/xml/domain.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { Cleanup } from '../support/cleanup.ts';
import { openSsh, openTls, rig, rigHost, uniqueName } from '../support/rig.ts';
import { ensurePool } from '../support/storage.ts';
import { rejection, until, within } from '../support/wait.ts';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const DISK = 16n << 20n;
const FLAGS =
  MigrateFlags.LIVE |
  MigrateFlags.PERSIST_DEST |
  MigrateFlags.UNDEFINE_SOURCE |
  MigrateFlags.NON_SHARED_INC;

// A base image cached on the host and a qcow2 overlay on it, at the same paths on every host,
// as Kumo's storage model lays them out. Incremental block migration needs the overlay to
// exist on the destination before the migration starts.
async function prepareDisk(conn: LibvirtConnection, name: string): Promise<string> {
  const pool = await ensurePool(conn);
  const base = await conn.storage.createVolume(
    pool,
    volumeXml({ name: `${name}-base.qcow2`, capacityBytes: DISK, format: 'qcow2' }),
  );
  cleanup.add(() => conn.storage.deleteVolume(base).catch(() => undefined));
  const overlay = await conn.storage.createVolume(
    pool,
    volumeXml({
      name: `${name}.qcow2`,
      capacityBytes: DISK,
      format: 'qcow2',
      backing: { path: await conn.storage.volumePath(base), format: 'qcow2' },
    }),
  );
  cleanup.add(() => conn.storage.deleteVolume(overlay).catch(() => undefined));
  return conn.storage.volumePath(overlay);
}

async function removeDomain(conn: LibvirtConnection, name: string): Promise<void> {
  const dom = await conn.domains.lookupByName(name).catch(() => null);
  if (!dom) return;
  await conn.domains.destroy(dom).catch(() => undefined);
  await conn.domains.undefine(dom).catch(() => undefined);
}

describe('client-driven live migration', () => {
  it('moves a running domain hv1 → hv2 over TLS and back over SSH, copying its overlay', async () => {
    const [hv1, hv2] = [rigHost('hv1'), rigHost('hv2')];
    const name = uniqueName('mig');
    const tls1 = await openTls(hv1);
    const tls2 = await openTls(hv2);
    cleanup.add(() => Promise.all([tls1.close(), tls2.close()]));
    cleanup.add(() => Promise.all([removeDomain(tls1, name), removeDomain(tls2, name)]));

    const disk = await prepareDisk(tls1, name);
    expect(await prepareDisk(tls2, name)).toBe(disk);
    const dom = await tls1.domains.define(
      domainXml({
        name,
        type: rig().domainType,
        memoryMiB: 64,
        vcpus: 1,
        disks: [{ file: disk, format: 'qcow2', target: 'vda' }],
      }),
    );
    const running = await tls1.domains.start(dom);

    const phases: MigratePhase[] = [];
    const there = await migrate(tls1, tls2, running, {
      flags: FLAGS,
      params: { migrateUri: `tcp://${hv2.ip}`, migrateDisks: ['vda'] },
      onPhase: (p) => phases.push(p),
    });
    expect(phases).toEqual(['begin', 'prepare', 'perform', 'finish', 'confirm']);
    expect(there.uuid).toBe(dom.uuid);
    expect((await tls2.domains.state(there)).state).toBe('running');
    expect(isNotFound(await rejection(tls1.domains.lookupByName(name)))).toBe(true);
    expect(await tls2.domains.xml(there)).toContain(disk);

    // Back over SSH: the overlay on hv1 is pre-created afresh, as Kumo would.
    const ssh1 = await openSsh(hv1);
    const ssh2 = await openSsh(hv2);
    cleanup.add(() => Promise.all([ssh1.close(), ssh2.close()]));
    const pool1 = await ensurePool(ssh1);
    await ssh1.storage.deleteVolume(await ssh1.storage.lookupVolume(pool1, `${name}.qcow2`));
    const base1 = await ssh1.storage.volumePath(
      await ssh1.storage.lookupVolume(pool1, `${name}-base.qcow2`),
    );
    await ssh1.storage.createVolume(
      pool1,
      volumeXml({
        name: `${name}.qcow2`,
        capacityBytes: DISK,
        format: 'qcow2',
        backing: { path: base1, format: 'qcow2' },
      }),
    );

    const back = await migrate(ssh2, ssh1, there, {
      flags: FLAGS,
      params: { migrateUri: `tcp://${hv1.ip}`, migrateDisks: ['vda'] },
    });
    expect(back.uuid).toBe(dom.uuid);
    expect((await ssh1.domains.state(back)).state).toBe('running');
    expect(isNotFound(await rejection(ssh2.domains.lookupByName(name)))).toBe(true);
  });

  it('reports job statistics while migrating, and cancelling leaves the guest running on the source', async () => {
    const [hv1, hv2] = [rigHost('hv1'), rigHost('hv2')];
    const name = uniqueName('cancel');
    const src = await openTls(hv1);
    const dst = await openTls(hv2);
    cleanup.add(() => Promise.all([src.close(), dst.close()]));
    cleanup.add(() => Promise.all([removeDomain(src, name), removeDomain(dst, name)]));
    const disk = await prepareDisk(src, name);
    await prepareDisk(dst, name);
    const dom = await src.domains.define(
      domainXml({
        name,
        type: rig().domainType,
        memoryMiB: 256,
        vcpus: 1,
        disks: [{ file: disk, format: 'qcow2', target: 'vda' }],
      }),
    );
    const running = await src.domains.start(dom);

    // At 1 MiB/s the guest's memory takes long enough to watch and to cancel.
    const cancel = new AbortController();
    const moving = migrate(src, dst, running, {
      flags: FLAGS,
      params: { migrateUri: `tcp://${hv2.ip}`, migrateDisks: ['vda'], bandwidthMiBs: 1 },
      signal: cancel.signal,
    });
    const seen = await until(
      async () => {
        const job = await src.jobs.stats(running);
        return job.type === 'unbounded' && Number(job.stats.memory_processed ?? 0) > 0
          ? job
          : undefined;
      },
      20_000,
      'a migration job with memory transferred',
    );
    expect(Number(seen.stats.memory_total)).toBeGreaterThan(0);
    expect(typeof seen.stats.time_elapsed).toBe('bigint');
    cancel.abort();
    const err = await within(rejection(moving), 20_000, 'the cancelled migration');
    expect(err).toMatchObject({ name: 'LibvirtError' });
    expect((await src.domains.state(running)).state).toBe('running');
    expect(isNotFound(await rejection(dst.domains.lookupByName(name)))).toBe(true);
    expect((await src.jobs.stats(running)).type).toBe('none');
  });

  it('refuses flag combinations libvirt refuses, before touching either host', async () => {
    const c1 = await openTls(rigHost('hv1'));
    const c2 = await openTls(rigHost('hv2'));
    cleanup.add(() => Promise.all([c1.close(), c2.close()]));
    const dom = {
      name: 'x',
      uuid: '00000000-0000-0000-0000-000000000000',
      id: -1,
      handle: { name: 'x', uuid: Buffer.alloc(16), id: -1 },
    };
    await expect(
      migrate(c1, c2, dom, { flags: MigrateFlags.NON_SHARED_DISK | MigrateFlags.NON_SHARED_INC }),
    ).rejects.toThrow(/cannot be combined/);
    await expect(migrate(c1, c2, dom, { flags: MigrateFlags.PEER2PEER })).rejects.toThrow(
      /peer-to-peer/,
    );
  });
});
