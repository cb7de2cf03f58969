import type { EntityManager } from '../../db/database.ts';
import type { UserId } from '../../entities/ids.ts';
import { Quota } from '../../entities/quota.ts';
import { User } from '../../entities/user.ts';
import { type Actor, requireAdmin } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import { ALLOCATION_LIMITS, type AllocationLimit, allocationOf } from './allocation.ts';
import {
  CONSUMPTION_LIMITS,
  type ConsumptionLimit,
  consumptionOf,
  type Period,
  periodOf,
  type Window,
} from './consumption.ts';

/** QuotaLimit names a limit of either kind. */
export type QuotaLimit = AllocationLimit | ConsumptionLimit;

/**
 * QuotaLimits are a user's limits: on what they hold (allocation) and on what they consume
 * within a window; null means unlimited.
 */
export interface QuotaLimits {
  readonly vms: number | null;
  readonly runningVms: number | null;
  readonly vcpus: number | null;
  readonly memoryBytes: bigint | null;
  readonly diskBytes: bigint | null;
  readonly images: number | null;
  readonly imageBytes: bigint | null;
  readonly snapshots: number | null;
  readonly cpuSeconds: bigint | null;
  readonly diskReadBytes: bigint | null;
  readonly diskWriteBytes: bigint | null;
  readonly netRxBytes: bigint | null;
  readonly netTxBytes: bigint | null;
}

/**
 * LimitUsage is one limit of a user, what is in use and what remains (null: unlimited); for a
 * consumption limit, over which period.
 */
export interface LimitUsage {
  readonly limit: QuotaLimit;
  readonly max: bigint | null;
  readonly used: bigint;
  readonly remaining: bigint | null;
  readonly period: Period | null;
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
  cpuSeconds: null,
  diskReadBytes: null,
  diskWriteBytes: null,
  netRxBytes: null,
  netTxBytes: null,
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
    cpuSeconds: bytes(numbers.cpuSeconds),
    diskReadBytes: bytes(numbers.diskReadBytes),
    diskWriteBytes: bytes(numbers.diskWriteBytes),
    netRxBytes: bytes(numbers.netRxBytes),
    netTxBytes: bytes(numbers.netTxBytes),
  };
}

/**
 * QuotaService reads and sets users' limits (QuotaGuard enforces them): admins set them, users
 * read their own.
 */
export class QuotaService {
  private readonly em: EntityManager;
  private readonly window: Window;

  constructor(em: EntityManager, window: Window) {
    this.em = em;
    this.window = window;
  }

  /** get returns a user's limits (all null when none were set); the user themself or an admin. */
  async get(
    actor: Actor,
    userId: UserId,
  ): Promise<QuotaLimits & { readonly updatedAt: Date | null }> {
    if (actor.userId !== userId && !actor.isAdmin)
      throw new ServiceError('FORBIDDEN', 'users may only read their own quota');
    // A fresh read: a subscription's services live long, and limits change under them.
    const q = await this.em.fork().findOne(Quota, { user: userId });
    return q ? { ...pick(q), updatedAt: q.updatedAt } : { ...UNLIMITED, updatedAt: null };
  }

  /**
   * usage gives every limit of a user with what is in use now (consumed in the current window,
   * for consumption limits) and what remains (null: unlimited); the user themself or an admin.
   */
  async usage(actor: Actor, userId: UserId, now: Date = new Date()): Promise<LimitUsage[]> {
    const limits = await this.get(actor, userId);
    const em = this.em.fork();
    const held = await allocationOf(em, userId);
    const period = periodOf(this.window, now);
    const consumed = await consumptionOf(em, userId, period.start);
    const entry = (limit: QuotaLimit, used: bigint, over: Period | null): LimitUsage => {
      const v = limits[limit];
      const max = v === null ? null : BigInt(v);
      const remaining = max === null ? null : max > used ? max - used : 0n;
      return { limit, max, used, remaining, period: over };
    };
    return [
      ...ALLOCATION_LIMITS.map((l) => entry(l, held[l], null)),
      ...CONSUMPTION_LIMITS.map((l) => entry(l, consumed[l], period)),
    ];
  }

  /** set changes the given limits (null: unlimited; absent: unchanged); admins only. */
  async set(
    actor: Actor,
    userId: UserId,
    changes: Partial<QuotaLimits>,
  ): Promise<QuotaLimits & { readonly updatedAt: Date | null }> {
    requireAdmin(actor, 'set quotas');
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
    cpuSeconds: nullableBig(q.cpuSeconds),
    diskReadBytes: nullableBig(q.diskReadBytes),
    diskWriteBytes: nullableBig(q.diskWriteBytes),
    netRxBytes: nullableBig(q.netRxBytes),
    netTxBytes: nullableBig(q.netTxBytes),
  };
}

const nullableBig = (v: bigint | string | null | undefined): bigint | null =>
  v === null || v === undefined ? null : BigInt(v);
