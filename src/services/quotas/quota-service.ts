import type { EntityManager } from '../../db/database.ts';
import type { UserId } from '../../entities/ids.ts';
import { Quota } from '../../entities/quota.ts';
import { User } from '../../entities/user.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import { ALLOCATION_LIMITS, type AllocationLimit, allocationOf } from './allocation.ts';

/** QuotaLimits are a user's allocation limits; null means unlimited. */
export interface QuotaLimits {
  readonly vms: number | null;
  readonly runningVms: number | null;
  readonly vcpus: number | null;
  readonly memoryBytes: bigint | null;
  readonly diskBytes: bigint | null;
  readonly images: number | null;
  readonly imageBytes: bigint | null;
  readonly snapshots: number | null;
}

/** LimitUsage is one limit of a user, what is in use and what remains (null: unlimited). */
export interface LimitUsage {
  readonly limit: AllocationLimit;
  readonly max: bigint | null;
  readonly used: bigint;
  readonly remaining: bigint | null;
}

const UNLIMITED: QuotaLimits = {
  vms: null,
  runningVms: null,
  vcpus: null,
  memoryBytes: null,
  diskBytes: null,
  images: null,
  imageBytes: null,
  snapshots: null,
};

const KEYS = Object.keys(UNLIMITED) as Array<keyof QuotaLimits>;

/** quotaLimitsOf reads limits given as plain numbers (the config's defaults). */
export function quotaLimitsOf(
  numbers: Readonly<Record<keyof QuotaLimits, number | null>>,
): QuotaLimits {
  const bytes = (v: number | null) => (v === null ? null : BigInt(v));
  return {
    ...numbers,
    memoryBytes: bytes(numbers.memoryBytes),
    diskBytes: bytes(numbers.diskBytes),
    imageBytes: bytes(numbers.imageBytes),
  };
}

/**
 * QuotaService reads and sets users' allocation limits (QuotaGuard enforces them): admins set
 * them, users read their own.
 */
export class QuotaService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /** get returns a user's limits (all null when none were set); the user themself or an admin. */
  async get(
    actor: Actor,
    userId: UserId,
  ): Promise<QuotaLimits & { readonly updatedAt: Date | null }> {
    if (actor.userId !== userId && !actor.isAdmin)
      throw new ServiceError('FORBIDDEN', 'users may only read their own quota');
    const q = await this.em.findOne(Quota, { user: userId });
    return q ? { ...pick(q), updatedAt: q.updatedAt } : { ...UNLIMITED, updatedAt: null };
  }

  /**
   * usage gives every allocation limit of a user with what is in use now and what remains
   * (null: unlimited); the user themself or an admin.
   */
  async usage(actor: Actor, userId: UserId): Promise<LimitUsage[]> {
    const limits = await this.get(actor, userId);
    const used = await allocationOf(this.em.fork(), userId);
    return ALLOCATION_LIMITS.map((limit) => {
      const v = limits[limit];
      const max = v === null ? null : BigInt(v);
      const remaining = max === null ? null : max > used[limit] ? max - used[limit] : 0n;
      return { limit, max, used: used[limit], remaining };
    });
  }

  /** set changes the given limits (null: unlimited; absent: unchanged); admins only. */
  async set(
    actor: Actor,
    userId: UserId,
    changes: Partial<QuotaLimits>,
  ): Promise<QuotaLimits & { readonly updatedAt: Date | null }> {
    if (!actor.isAdmin) throw new ServiceError('FORBIDDEN', 'only admins may set quotas');
    const user = await this.em.findOne(User, { id: userId });
    if (!user) throw new ServiceError('NOT_FOUND', `no user ${userId}`, 'input.user');
    for (const key of KEYS) {
      const v = changes[key];
      if (v !== undefined && v !== null && v < 0)
        throw new ServiceError('INVALID', `${key} cannot be negative`, `input.${key}`);
    }
    const q =
      (await this.em.findOne(Quota, { user: userId })) ??
      this.em.create(Quota, { user, ...UNLIMITED });
    this.em.assign(
      q,
      Object.fromEntries(KEYS.filter((k) => changes[k] !== undefined).map((k) => [k, changes[k]])),
    );
    await this.em.flush();
    return { ...pick(q), updatedAt: q.updatedAt };
  }
}

function pick(q: Quota): QuotaLimits {
  return {
    vms: q.vms ?? null,
    runningVms: q.runningVms ?? null,
    vcpus: q.vcpus ?? null,
    memoryBytes: q.memoryBytes ?? null,
    diskBytes: q.diskBytes ?? null,
    images: q.images ?? null,
    imageBytes: q.imageBytes ?? null,
    snapshots: q.snapshots ?? null,
  };
}
