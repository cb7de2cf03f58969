// What a QEMU host answers for the groups the collector asks: one real VM (no OS, one virtio
// qcow2 disk, one NIC, one vCPU) runs briefly on a rig host, and its get-all-domain-stats
// record, with each field's wire type, is the template of the QEMU-shaped replies.
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import type { TypedParam } from '../../src/libvirt/generated/remote-protocol.gen.ts';
import { domainXml } from '../../src/libvirt/xml/domain.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { ensureGuestNetwork } from '../../test/support/guest-network.ts';
import { ensurePool } from '../../test/support/storage.ts';

const NAME = 'kumo-bench-metering';

/** captureQemuRecord runs the VM, reads its record for `groups`, and removes the VM and its disk. */
export async function captureQemuRecord(
  conn: LibvirtConnection,
  groups: number,
  domainType: 'kvm' | 'qemu',
): Promise<TypedParam[]> {
  const pool = await ensurePool(conn);
  const network = await ensureGuestNetwork(conn);
  const old = await conn.storage.lookupVolume(pool, `${NAME}.qcow2`).catch(() => null);
  if (old) await conn.storage.deleteVolume(old);
  const vol = await conn.storage.createVolume(
    pool,
    volumeXml({ name: `${NAME}.qcow2`, capacityBytes: 64n << 20n, format: 'qcow2' }),
  );
  try {
    const dom = await conn.domains.define(
      domainXml({
        name: NAME,
        type: domainType,
        memoryMiB: 128,
        vcpus: 1,
        disks: [{ file: await conn.storage.volumePath(vol), format: 'qcow2', target: 'vda' }],
        interfaces: [{ network, mac: '52:54:00:fe:00:01' }],
      }),
    );
    try {
      await conn.domains.start(dom);
      // The balloon and the vCPU statistics fill in once the guest ran a moment.
      await new Promise((r) => setTimeout(r, 1500));
      const { retStats } = await conn.remote.connectGetAllDomainStats({
        doms: [dom.handle],
        stats: groups,
        flags: 0,
      });
      const params = retStats[0]?.params;
      if (!params) throw new Error('the QEMU VM gave no statistics record');
      return params;
    } finally {
      await conn.domains.destroy(dom).catch(() => undefined);
      await conn.domains.undefine(dom).catch(() => undefined);
    }
  } finally {
    await conn.storage.deleteVolume(vol).catch(() => undefined);
  }
}

// The balloon fields QEMU adds once the guest's virtio-balloon driver reports (the VM above has
// no OS, hence no driver): a Linux guest's record has them.
const GUEST_BALLOON = [
  'balloon.swap_in',
  'balloon.swap_out',
  'balloon.major_fault',
  'balloon.minor_fault',
  'balloon.unused',
  'balloon.available',
  'balloon.usable',
  'balloon.disk_caches',
  'balloon.hugetlb_pgalloc',
  'balloon.hugetlb_pgfail',
];

/** withGuestBalloon adds the guest driver's balloon fields to a record that has a balloon. */
export function withGuestBalloon(template: readonly TypedParam[]): TypedParam[] {
  if (!template.some((p) => p.field === 'balloon.current')) return [...template];
  const have = new Set(template.map((p) => p.field));
  const extra: TypedParam[] = GUEST_BALLOON.filter((f) => !have.has(f)).map((field) => ({
    field,
    value: { type: 4, ul: 100_000n },
  }));
  const last = template.findLastIndex((p) => p.field.startsWith('balloon.'));
  return [...template.slice(0, last + 1), ...extra, ...template.slice(last + 1)];
}

/**
 * shapedRecord is the template as domain `i` of a host would report it at `step` (10 s each):
 * its own disk path and NIC name, and every 64-bit counter grown by (1000 + i) a step, so the
 * collector sees use in every round. Balloon sizes stay as they are.
 */
export function shapedRecord(
  template: readonly TypedParam[],
  i: number,
  step: number,
  uuid: string,
  tap: string,
): TypedParam[] {
  const grow = BigInt(step * (1000 + i));
  return template.map((p): TypedParam => {
    const v = p.value;
    if (v.type === 7) {
      if (/^net\.\d+\.name$/.test(p.field)) return { field: p.field, value: { type: 7, s: tap } };
      if (/^block\.\d+\.path$/.test(p.field))
        return {
          field: p.field,
          value: { type: 7, s: `/var/lib/libvirt/images/kumo/${uuid}.qcow2` },
        };
      return p;
    }
    if (p.field.startsWith('balloon.')) return p;
    if (v.type === 4) return { field: p.field, value: { type: 4, ul: v.ul + grow } };
    if (v.type === 3) return { field: p.field, value: { type: 3, l: v.l + grow } };
    return p;
  });
}
