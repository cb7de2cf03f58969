import type { EntityManager, RequiredEntityData } from '@mikro-orm/core';
import type { HostId, PermissionId, UserId, VmId } from '../../src/entities/ids.ts';
import { Permission } from '../../src/entities/permission.ts';
import { Vm } from '../../src/entities/vm.ts';
import type { FleetHost } from './fleet.ts';

const CHUNK = 1000;

/**
 * seedFleetVms inserts one RUNNING Vm row per simulated domain, and its owner's OWNER
 * permission, a thousand rows per statement: the fleet's domains come from the test driver's
 * files, not from vmCreate, which would also take hours at a hundred thousand. `ownerOf` picks
 * each VM's owner by its index in the whole fleet. Returns the number of VMs.
 */
export async function seedFleetVms(
  em: EntityManager,
  fleet: readonly FleetHost[],
  hostIds: ReadonlyMap<string, HostId>,
  ownerOf: (index: number) => UserId,
): Promise<number> {
  const now = new Date();
  let rows: RequiredEntityData<Vm>[] = [];
  let grants: RequiredEntityData<Permission>[] = [];
  let index = 0;
  const flush = async () => {
    if (rows.length > 0) await em.insertMany(Vm, rows);
    if (grants.length > 0) await em.insertMany(Permission, grants);
    rows = [];
    grants = [];
  };
  for (const host of fleet) {
    const hostId = hostIds.get(host.name);
    if (!hostId) throw new Error(`the fleet host ${host.name} is not in Kumo`);
    for (const d of host.domains) {
      const id = crypto.randomUUID() as VmId;
      const owner = ownerOf(index++);
      grants.push({
        id: crypto.randomUUID() as PermissionId,
        user: owner,
        resourceType: 'VM',
        resourceId: id,
        resourceName: d.name,
        role: 'OWNER',
        createdAt: now,
      });
      rows.push({
        id,
        name: d.name,
        description: '',
        owner,
        host: hostId,
        image: null,
        baseVolume: `fleet-${d.uuid}`,
        state: 'RUNNING',
        stateReason: 'seeded with the fleet',
        vcpus: 1,
        maxVcpus: 1,
        memoryBytes: 512n << 20n,
        maxMemoryBytes: 512n << 20n,
        diskBytes: 10n << 30n,
        mac: d.mac,
        hasSeed: false,
        domainUuid: d.uuid,
        createdAt: now,
        updatedAt: now,
      });
      if (rows.length === CHUNK) await flush();
    }
  }
  await flush();
  return index;
}
