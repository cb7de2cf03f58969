import { raw } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import type { UserId } from '../../entities/ids.ts';
import { Image } from '../../entities/image.ts';
import { Snapshot } from '../../entities/snapshot.ts';
import type { VmState } from '../../entities/vm.ts';
import { Vm } from '../../entities/vm.ts';

/** ALLOCATION_LIMITS are the limits on what a user holds (as opposed to what they consume). */
export const ALLOCATION_LIMITS = [
  'vms',
  'runningVms',
  'vcpus',
  'memoryBytes',
  'diskBytes',
  'images',
  'imageBytes',
  'snapshots',
] as const;

/** AllocationLimit names one of ALLOCATION_LIMITS. */
export type AllocationLimit = (typeof ALLOCATION_LIMITS)[number];

/** Allocation is an amount of each allocation limit's resource: a use, or what an operation adds. */
export type Allocation = Readonly<Record<AllocationLimit, bigint>>;

/**
 * HOLDING_STATES are the VM states that hold a host's CPU and memory: running or paused, on
 * the move, not known (its host is away: it may run), and being created (most creations start
 * the VM; counting them keeps two creations from both taking the last running slot).
 */
const HOLDING_STATES: readonly VmState[] = [
  'CREATING',
  'RUNNING',
  'PAUSED',
  'MIGRATING',
  'UNKNOWN',
];

const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));

/**
 * allocationOf sums what a user holds now, in the database: VMs (with their vCPUs, memory and
 * disk sizes), running VMs, images (with their stored bytes) and snapshots of their VMs. What
 * counts is the owner of each: the user who made it, or was made its owner.
 */
export async function allocationOf(em: EntityManager, user: UserId): Promise<Allocation> {
  const [vms] = await em
    .createQueryBuilder(Vm, 'v')
    .select([
      raw('count(*) as n'),
      raw('sum(v.vcpus) as vcpus'),
      raw('sum(v.memory_bytes) as memory'),
      raw('sum(v.disk_bytes) as disk'),
    ])
    .where({ owner: user })
    .execute<Array<Record<string, unknown>>>('all', false);
  const running = await em.count(Vm, { owner: user, state: { $in: [...HOLDING_STATES] } });
  const [images] = await em
    .createQueryBuilder(Image, 'i')
    .select([raw('count(*) as n'), raw('sum(i.size_bytes) as bytes')])
    .where({ owner: user })
    .execute<Array<Record<string, unknown>>>('all', false);
  const snapshots = await em.count(Snapshot, { vm: { owner: user } });
  return {
    vms: big(vms?.n),
    runningVms: BigInt(running),
    vcpus: big(vms?.vcpus),
    memoryBytes: big(vms?.memory),
    diskBytes: big(vms?.disk),
    images: big(images?.n),
    imageBytes: big(images?.bytes),
    snapshots: BigInt(snapshots),
  };
}
