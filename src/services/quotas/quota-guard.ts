import type { EntityManager } from '../../db/database.ts';
import type { UserId } from '../../entities/ids.ts';
import { Quota } from '../../entities/quota.ts';
import { ServiceError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Locks } from '../locks.ts';
import { type Allocation, type AllocationLimit, allocationOf } from './allocation.ts';
import {
  CONSUMPTION_LIMITS,
  type ConsumptionLimit,
  consumptionOf,
  periodOf,
  type Window,
} from './consumption.ts';

/** Overuse is what happens to a user's running VMs once they cross a consumption limit. */
export interface Overuse {
  readonly action: 'NONE' | 'SUSPEND';
  readonly graceSeconds: number;
}

/** ConsumptionRules are the window consumption limits count over and each one's overuse. */
export interface ConsumptionRules {
  readonly window: Window;
  readonly overuse: Readonly<Record<ConsumptionLimit, Overuse>>;
}

/** ConsumptionBreach is a consumption limit a user has reached in the current window. */
export interface ConsumptionBreach {
  readonly limit: ConsumptionLimit;
  readonly max: bigint;
  readonly used: bigint;
  /** until is when the window ends, and the use counts from zero again. */
  readonly until: Date;
}

/**
 * QuotaGuard admits what operations reserve against their owner's limits. A reservation is
 * checked and recorded (a VM row, a state, an image's size) under that user's lock, so two
 * requests can never both take the last of a limit: the second one counts what the first
 * recorded. A user who has consumed up to a consumption limit in this window may reserve
 * nothing new. The lock is shared by the replicas when there are several.
 */
export class QuotaGuard {
  readonly rules: ConsumptionRules;
  private readonly fork: () => EntityManager;
  private readonly events: EventBus;
  private readonly locks: Locks<UserId>;

  constructor(
    fork: () => EntityManager,
    rules: ConsumptionRules,
    events: EventBus,
    locks: Locks<UserId>,
  ) {
    this.fork = fork;
    this.locks = locks;
    this.rules = rules;
    this.events = events;
  }

  /**
   * reserve runs `record` once `adds` fits every allocation limit of `owner` and no
   * consumption limit of theirs is reached; it throws QUOTA_EXCEEDED naming the first limit in
   * the way. `record` must write the reservation before it resolves. Nothing to add means
   * nothing to check.
   */
  async reserve<T>(owner: UserId, adds: Partial<Allocation>, record: () => Promise<T>): Promise<T> {
    const asked = (Object.entries(adds) as Array<[AllocationLimit, bigint]>).filter(
      ([, v]) => v > 0n,
    );
    if (asked.length === 0) return record();
    return this.locks.run(owner, 'checking a quota', async () => {
      const em = this.fork();
      const quota = await em.findOne(Quota, { user: owner });
      const limited = asked.flatMap(([limit, v]) => {
        const max = quota?.[limit];
        return max === null || max === undefined ? [] : [{ limit, max: BigInt(max), v }];
      });
      if (limited.length > 0) {
        const used = await allocationOf(em, owner);
        for (const { limit, max, v } of limited)
          if (used[limit] + v > max) throw exceeded(limit, max, used[limit], v);
      }
      const [breach] = await this.breaches(em, quota, CONSUMPTION_LIMITS);
      if (breach) throw overConsumed(breach);
      const out = await record();
      this.events.publish('quotaUsageTouched', owner);
      return out;
    });
  }

  /**
   * admitResume refuses to resume a VM of `owner` while they are over a consumption limit
   * whose overuse suspends VMs: resuming would undo what the limit did.
   */
  async admitResume(owner: UserId): Promise<void> {
    const em = this.fork();
    const quota = await em.findOne(Quota, { user: owner });
    const suspending = CONSUMPTION_LIMITS.filter((l) => this.rules.overuse[l].action === 'SUSPEND');
    const [breach] = await this.breaches(em, quota, suspending);
    if (breach) throw overConsumed(breach);
  }

  /** breachesOf gives the consumption limits `owner` has reached in the current window. */
  async breachesOf(owner: UserId, now: Date = new Date()): Promise<ConsumptionBreach[]> {
    const em = this.fork();
    const quota = await em.findOne(Quota, { user: owner });
    return this.breaches(em, quota, CONSUMPTION_LIMITS, now);
  }

  private async breaches(
    em: EntityManager,
    quota: Quota | null,
    limits: readonly ConsumptionLimit[],
    now: Date = new Date(),
  ): Promise<ConsumptionBreach[]> {
    const set = limits.flatMap((limit) => {
      const max = quota?.[limit];
      return max === null || max === undefined ? [] : [{ limit, max: BigInt(max) }];
    });
    if (!quota || set.length === 0) return [];
    const period = periodOf(this.rules.window, now);
    const used = await consumptionOf(em, quota.user.id as UserId, period.start);
    return set
      .filter(({ limit, max }) => used[limit] >= max)
      .map(({ limit, max }) => ({ limit, max, used: used[limit], until: period.end }));
  }
}

function exceeded(limit: AllocationLimit, max: bigint, used: bigint, requested: bigint) {
  return new ServiceError(
    'QUOTA_EXCEEDED',
    `this would take ${limit} to ${used + requested}, over its limit of ${max} (${used} in use, ${requested} asked for)`,
    null,
    { quota: { limit, max, used, requested } },
  );
}

function overConsumed(b: ConsumptionBreach) {
  return new ServiceError(
    'QUOTA_EXCEEDED',
    `${b.limit} consumed this period (${b.used}) has reached its limit of ${b.max}; nothing new can be reserved until ${b.until.toISOString()}`,
    null,
    { quota: { limit: b.limit, max: b.max, used: b.used, requested: 0n } },
  );
}
