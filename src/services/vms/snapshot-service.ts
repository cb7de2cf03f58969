import type { EntityManager } from '@mikro-orm/core';
import { isUniqueViolation } from '../../db/errors.ts';
import type { SnapshotId, VmId } from '../../entities/ids.ts';
import { Snapshot } from '../../entities/snapshot.ts';
import { Vm } from '../../entities/vm.ts';
import { isNotFound } from '../../libvirt/errors.ts';
import { snapshotXml } from '../../libvirt/xml/snapshot.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import type { QuotaGuard } from '../quotas/quota-guard.ts';
import { checkDescription } from '../text.ts';
import { hostFailure } from './vm-host.ts';
import { ownerOf } from './vm-rows.ts';
import type { VmService } from './vm-service.ts';

/**
 * SnapshotService takes, lists, reverts and deletes VM snapshots: internal qcow2 snapshots in
 * the VM's disk, with the guest's memory when it runs, so a revert resumes it where it was.
 * Operators may do all of it; each action holds the VM's lock.
 */
export class SnapshotService {
  private readonly em: EntityManager;
  private readonly vms: VmService;
  private readonly quotas: QuotaGuard;

  constructor(em: EntityManager, vms: VmService, quotas: QuotaGuard) {
    this.em = em;
    this.vms = vms;
    this.quotas = quotas;
  }

  /** list returns a VM's snapshots, oldest first. */
  async list(actor: Actor, vmId: VmId): Promise<Snapshot[]> {
    await this.vms.get(actor, vmId, 'view');
    return this.em.find(Snapshot, { vm: vmId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** get returns a snapshot of a VM the actor may act on as `access` asks. */
  async get(actor: Actor, id: SnapshotId, access: 'view' | 'use' = 'view'): Promise<Snapshot> {
    const snap = await this.em.findOne(Snapshot, { id });
    if (!snap) throw new ServiceError('NOT_FOUND', `no snapshot ${id}`, 'input.id');
    try {
      await this.vms.get(actor, snap.vm.id, access);
    } catch (err) {
      if (err instanceof ServiceError && err.code === 'NOT_FOUND')
        throw new ServiceError('NOT_FOUND', `no snapshot ${id}`, 'input.id');
      throw err;
    }
    return snap;
  }

  /** create takes a snapshot now: of disk and memory while the VM runs, of its disk otherwise. */
  async create(
    actor: Actor,
    vmId: VmId,
    input: { name: string; description?: string },
  ): Promise<Snapshot> {
    await this.vms.get(actor, vmId, 'use');
    const name = checkName(input.name);
    const description = checkDescription(input.description ?? '');
    if (await this.em.count(Snapshot, { vm: vmId, name }))
      throw new ServiceError('CONFLICT', `the VM has a snapshot named ${name}`, 'input.name');
    return this.vms.withDomain(vmId, 'vmSnapshotCreate', async ({ vm, conn, dom, state }) => {
      const withMemory = state === 'RUNNING' || state === 'PAUSED';
      const snap = await this.quotas.reserve(ownerOf(vm), { snapshots: 1n }, async () => {
        const snap = this.em.create(Snapshot, {
          vm: this.em.getReference(Vm, vmId),
          name,
          description,
          withMemory,
        });
        try {
          await this.em.flush();
        } catch (err) {
          if (isUniqueViolation(err))
            throw new ServiceError('CONFLICT', `the VM has a snapshot named ${name}`, 'input.name');
          throw err;
        }
        return snap;
      });
      try {
        await conn.snapshots.create(dom, snapshotXml(name, description || undefined));
      } catch (err) {
        await this.em.nativeDelete(Snapshot, { id: snap.id });
        throw hostFailure(err, 'taking the snapshot failed');
      }
      return snap;
    });
  }

  /** revert returns the VM to a snapshot: its disk, and its memory and run state when taken live. */
  async revert(actor: Actor, id: SnapshotId): Promise<Vm> {
    const snap = await this.get(actor, id, 'use');
    return this.vms.withDomain(snap.vm.id, 'vmSnapshotRevert', async ({ conn, dom, observe }) => {
      try {
        await conn.snapshots.revert(await conn.snapshots.lookup(dom, snap.name));
      } catch (err) {
        throw hostFailure(err, 'reverting failed');
      }
      return observe(`reverted to snapshot ${snap.name}`);
    });
  }

  /** delete removes a snapshot (its data in the disk too); the VM stays as it is. */
  async delete(actor: Actor, id: SnapshotId): Promise<void> {
    const snap = await this.get(actor, id, 'use');
    await this.vms.withDomain(snap.vm.id, 'vmSnapshotDelete', async ({ conn, dom }) => {
      try {
        await conn.snapshots.delete(await conn.snapshots.lookup(dom, snap.name));
      } catch (err) {
        // Gone from libvirt already (deleted by hand): forgetting the row is all that is left.
        if (!isNotFound(err)) throw hostFailure(err, 'deleting the snapshot failed');
      }
      await this.em.nativeDelete(Snapshot, { id });
    });
  }
}

function checkName(name: string): string {
  const n = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(n))
    throw new ServiceError(
      'INVALID',
      'a snapshot name is 1-64 letters, digits, dots, dashes or underscores',
      'input.name',
    );
  return n;
}
