import type { EntityManager } from '@mikro-orm/core';
import { Execution } from '../entities/execution.ts';
import { Image } from '../entities/image.ts';
import { Operation } from '../entities/operation.ts';
import { Permission } from '../entities/permission.ts';
import { Vm } from '../entities/vm.ts';
import type { ImageStore } from './images/image-store.ts';
import { CREATION_INTERRUPTED } from './vms/vm-state.ts';

/**
 * recoverInterrupted settles what a controller that stopped in the middle of work left behind,
 * before anything new starts: operations still marked running fail (but those of commands
 * still running in guests, which are followed again), imports that were under way are
 * removed with their partial files, VMs still being created are marked for removal, and
 * VMs being moved UNKNOWN until the hosts' sweeps (VmWatcher) find where they run; the sweeps
 * also remove what was made of the half-created ones, and image copies cut short.
 */
export async function recoverInterrupted(em: EntityManager, store: ImageStore): Promise<void> {
  const stopped = 'the controller stopped while this was under way';
  // Commands running in guests go on without the controller: ExecRunner.resumeAll follows them
  // again. Deliveries and starts cut short cannot be taken up.
  await em.nativeUpdate(
    Execution,
    {
      $or: [{ state: { $in: ['QUEUED', 'DELIVERING'] } }, { state: 'RUNNING', guestPid: null }],
    },
    { state: 'FAILED', error: stopped, finishedAt: new Date() },
  );
  const resumed = await em.find(Execution, { state: 'RUNNING' }, { fields: ['operation'] });
  await em.nativeUpdate(
    Operation,
    {
      status: { $in: ['PENDING', 'RUNNING'] },
      id: { $nin: resumed.map((e) => e.operation.id) },
    },
    { status: 'FAILED', error: stopped, finishedAt: new Date() },
  );
  const importing = await em.find(Image, { state: 'IMPORTING' }, { fields: ['id'] });
  if (importing.length > 0) {
    const ids = importing.map((i) => i.id);
    await em.nativeDelete(Permission, { resourceType: 'IMAGE', resourceId: { $in: ids } });
    await em.nativeDelete(Image, { id: { $in: ids } });
  }
  // Their hosts' sweeps remove what was made of them (VmWatcher).
  await em.nativeUpdate(
    Vm,
    { state: 'CREATING' },
    { state: 'ERROR', stateReason: CREATION_INTERRUPTED },
  );
  // A migration cut short leaves the VM on one host or the other: the hosts' sweeps say which.
  await em.nativeUpdate(
    Vm,
    { state: 'MIGRATING' },
    { state: 'UNKNOWN', stateReason: 'the controller stopped while it was being moved' },
  );
  const kept = await em.find(Image, {}, { fields: ['id'] });
  await store.sweep(new Set(kept.map((i) => i.id)));
}
