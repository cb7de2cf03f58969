import type { EntityManager } from '@mikro-orm/core';
import type { UserId, VmId } from '../../entities/ids.ts';
import { Permission } from '../../entities/permission.ts';
import { Vm } from '../../entities/vm.ts';

/** forgetVm deletes a VM's row and roles; its snapshots' rows go with it (cascade). */
export async function forgetVm(em: EntityManager, id: VmId): Promise<void> {
  await em.nativeDelete(Permission, { resourceType: 'VM', resourceId: id });
  await em.nativeDelete(Vm, { id });
}

/** ownerOf is the user a VM's resources count against. */
export function ownerOf(vm: Vm): UserId {
  return vm.owner.id as UserId;
}
