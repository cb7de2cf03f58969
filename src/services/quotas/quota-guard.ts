import type { EntityManager } from '../../db/database.ts';
import type { UserId } from '../../entities/ids.ts';
import { Quota } from '../../entities/quota.ts';
import { ServiceError } from '../errors.ts';
import { Locks } from '../locks.ts';
import { type Allocation, type AllocationLimit, allocationOf } from './allocation.ts';

/**
 * QuotaGuard admits what operations reserve against their owner's allocation limits. A
 * reservation is checked and recorded (a VM row, a state, an image's size) under that user's
 * lock, so two requests can never both take the last of a limit: the second one counts what
 * the first recorded. One per controller process, like the other locks (a replica set will need
 * a database lock here instead).
 */
export class QuotaGuard {
  private readonly fork: () => EntityManager;
  private readonly locks = new Locks<UserId>();

  constructor(fork: () => EntityManager) {
    this.fork = fork;
  }

  /**
   * reserve runs `record` once `adds` fits every limit of `owner`; it throws QUOTA_EXCEEDED
   * naming the first limit it would cross. `record` must write the reservation before it
   * resolves. Nothing to add means nothing to check.
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
      return record();
    });
  }
}

function exceeded(limit: AllocationLimit, max: bigint, used: bigint, requested: bigint) {
  return new ServiceError(
    'QUOTA_EXCEEDED',
    `this would take ${limit} to ${used + requested}, over its limit of ${max} (${used} in use, ${requested} asked for)`,
    null,
    { limit, max, used, requested },
  );
}
