import type { EntityManager } from '../db/database.ts';
import type { Dialect } from '../db/url.ts';
import { Execution } from '../entities/execution.ts';
import type { ImageId, OperationId, ReplicaId, VmId } from '../entities/ids.ts';
import { Image } from '../entities/image.ts';
import { Operation } from '../entities/operation.ts';
import { Permission } from '../entities/permission.ts';
import { Vm } from '../entities/vm.ts';
import type { ImageStore } from './images/image-store.ts';
import { CREATION_INTERRUPTED } from './vms/vm-state.ts';

const STOPPED = 'the controller stopped while this was under way';
const MOVE_STOPPED = 'the controller stopped while it was being moved';

/**
 * claimOrphans makes this replica the runner of every live operation that has none (its
 * replica died, or it predates replicas) and names them. On PostgreSQL the rows are locked
 * and skipped if locked, so two replicas claiming at once split them, never share one.
 */
export async function claimOrphans(
  em: EntityManager,
  dialect: Dialect,
  replica: ReplicaId,
): Promise<OperationId[]> {
  const lock = dialect === 'postgresql' ? 'for update skip locked' : '';
  const rows = await em
    .getConnection()
    .execute<{ id: OperationId }[]>(
      `update operations set replica_id = ? where id in (select id from operations where replica_id is null and status in ('PENDING', 'RUNNING') ${lock}) returning id`,
      [replica],
      'all',
    );
  return rows.map((r) => r.id);
}

/**
 * settleOrphans settles operations claimed from a controller that stopped in the middle of
 * them: those of commands still running in guests stay RUNNING and are returned, to be
 * followed again (ExecRunner.resume); the others fail. What they were making is settled with
 * them: an import's image and files go, a VM being created is marked for removal (its host's
 * sweep removes what was made of it, VmWatcher), a VM being moved turns UNKNOWN until its
 * hosts' sweeps find where it runs.
 */
export async function settleOrphans(
  em: EntityManager,
  store: ImageStore,
  ids: readonly OperationId[],
): Promise<OperationId[]> {
  if (ids.length === 0) return [];
  const finishedAt = new Date();
  const operation = { $in: [...ids] };
  // Commands running in guests go on without the controller; deliveries and starts cut short
  // cannot be taken up.
  await em.nativeUpdate(
    Execution,
    {
      operation,
      $or: [{ state: { $in: ['QUEUED', 'DELIVERING'] } }, { state: 'RUNNING', guestPid: null }],
    },
    { state: 'FAILED', error: STOPPED, finishedAt },
  );
  const following = await em.find(
    Execution,
    { operation, state: 'RUNNING' },
    { fields: ['operation'] },
  );
  const resumed = following.map((e) => e.operation.id);
  const failed = ids.filter((id) => !resumed.includes(id));
  if (failed.length === 0) return resumed;
  const targets = await em.find(
    Operation,
    { id: { $in: failed } },
    { fields: ['targetType', 'targetId'] },
  );
  await em.nativeUpdate(
    Operation,
    { id: { $in: failed } },
    { status: 'FAILED', error: STOPPED, finishedAt },
  );
  const of = (type: string) =>
    targets.filter((t) => t.targetType === type && t.targetId).map((t) => t.targetId as string);
  await removeImports(em, store, of('IMAGE') as ImageId[]);
  await settleVms(em, { id: { $in: of('VM') as VmId[] } });
  return resumed;
}

/**
 * recoverAlone settles what no operation accounts for, when no other replica is running: VMs
 * and imports left half-made by a controller that stopped between writing them and starting
 * their operation, and image files of no image.
 */
export async function recoverAlone(em: EntityManager, store: ImageStore): Promise<void> {
  const importing = await em.find(Image, { state: 'IMPORTING' }, { fields: ['id'] });
  await removeImports(
    em,
    store,
    importing.map((i) => i.id),
  );
  await settleVms(em, {});
  const kept = await em.find(Image, {}, { fields: ['id'] });
  await store.sweep(new Set(kept.map((i) => i.id)));
}

async function removeImports(
  em: EntityManager,
  store: ImageStore,
  candidates: readonly ImageId[],
): Promise<void> {
  if (candidates.length === 0) return;
  const importing = await em.find(
    Image,
    { id: { $in: [...candidates] }, state: 'IMPORTING' },
    { fields: ['id'] },
  );
  const ids = importing.map((i) => i.id);
  if (ids.length === 0) return;
  await em.nativeDelete(Permission, { resourceType: 'IMAGE', resourceId: { $in: ids } });
  await em.nativeDelete(Image, { id: { $in: ids } });
  await Promise.all(ids.map((id) => store.remove(id)));
}

async function settleVms(em: EntityManager, which: { id?: { $in: VmId[] } }): Promise<void> {
  if (which.id?.$in.length === 0) return;
  await em.nativeUpdate(
    Vm,
    { ...which, state: 'CREATING' },
    { state: 'ERROR', stateReason: CREATION_INTERRUPTED },
  );
  await em.nativeUpdate(
    Vm,
    { ...which, state: 'MIGRATING' },
    { state: 'UNKNOWN', stateReason: MOVE_STOPPED },
  );
}
