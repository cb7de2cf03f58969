import { afterEach, describe, expect, it } from 'vitest';
import { UndefineFlags } from '../../src/libvirt/api/domains.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import { domainXml } from '../../src/libvirt/xml/domain.ts';
import { snapshotXml } from '../../src/libvirt/xml/snapshot.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { Cleanup } from '../support/cleanup.ts';
import { openTls, rig, rigHost, uniqueName } from '../support/rig.ts';
import { ensurePool } from '../support/storage.ts';
import { rejection } from '../support/wait.ts';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('snapshots', () => {
  it('creates, lists, reverts and deletes snapshots of a running domain on a qcow2 overlay', async () => {
    const conn = await openTls(rigHost('hv2'));
    cleanup.add(() => conn.close());
    const pool = await ensurePool(conn);
    const name = uniqueName('snap');
    const base = await conn.storage.createVolume(
      pool,
      volumeXml({ name: `${name}-base.qcow2`, capacityBytes: 16n << 20n, format: 'qcow2' }),
    );
    cleanup.add(() => conn.storage.deleteVolume(base));
    const overlay = await conn.storage.createVolume(
      pool,
      volumeXml({
        name: `${name}.qcow2`,
        capacityBytes: 16n << 20n,
        format: 'qcow2',
        backing: { path: await conn.storage.volumePath(base), format: 'qcow2' },
      }),
    );
    cleanup.add(() => conn.storage.deleteVolume(overlay));
    const dom = await conn.domains.define(
      domainXml({
        name,
        type: rig().domainType,
        memoryMiB: 64,
        vcpus: 1,
        disks: [{ file: await conn.storage.volumePath(overlay), format: 'qcow2', target: 'vda' }],
      }),
    );
    cleanup.add(() => conn.domains.undefine(dom, UndefineFlags.SNAPSHOTS_METADATA));
    const running = await conn.domains.start(dom);
    cleanup.add(() => conn.domains.destroy(running));

    const s1 = await conn.snapshots.create(running, snapshotXml('s1', 'first'));
    await conn.domains.suspend(running);
    const s2 = await conn.snapshots.create(running, snapshotXml('s2'));
    expect((await conn.snapshots.list(running)).map((s) => s.name).sort()).toEqual(['s1', 's2']);
    expect(await conn.snapshots.xml(s1)).toContain('<description>first</description>');

    await conn.snapshots.revert(s1);
    expect((await conn.domains.state(running)).state).toBe('running');
    await conn.snapshots.revert(await conn.snapshots.lookup(running, 's2'));
    expect((await conn.domains.state(running)).state).toBe('paused');

    await conn.snapshots.delete(s2);
    expect(isNotFound(await rejection(conn.snapshots.lookup(running, 's2')))).toBe(true);
    expect((await conn.snapshots.list(running)).map((s) => s.name)).toEqual(['s1']);
  });
});
