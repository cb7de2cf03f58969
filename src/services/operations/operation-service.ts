import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { OperationId } from '../../entities/ids.ts';
import { Operation } from '../../entities/operation.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import type { CancelRelay } from './cancel-relay.ts';
import type { OperationRunner } from './operation-runner.ts';

// How long a cancel waits for an operation on another replica to end, and how often it looks.
const REMOTE_END_MS = 60_000;
const REMOTE_POLL_MS = 100;

/** OperationService shows operations to whoever asked for them (admins see all) and cancels them. */
export class OperationService {
  private readonly em: EntityManager;
  private readonly runner: OperationRunner;
  private readonly cancels: CancelRelay;

  constructor(em: EntityManager, runner: OperationRunner, cancels: CancelRelay) {
    this.em = em;
    this.runner = runner;
    this.cancels = cancels;
  }

  /** get returns an operation the actor may see; others are told it does not exist. */
  async get(actor: Actor, id: OperationId): Promise<Operation> {
    const op = await this.em.findOne(Operation, { id });
    if (!op || !visible(actor, op))
      throw new ServiceError('NOT_FOUND', `no operation ${id}`, 'input.id');
    return op;
  }

  /** list returns the actor's operations (every operation for admins), newest first. */
  async list(
    actor: Actor,
    q: { first: number; after?: { createdAt: Date; id: OperationId } },
  ): Promise<{ operations: Operation[]; hasNextPage: boolean }> {
    const where: FilterQuery<Operation> = actor.isAdmin ? {} : { actor: actor.userId };
    if (q.after) {
      const { createdAt, id } = q.after;
      where.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }];
    }
    const ops = await this.em.find(Operation, where, {
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      limit: q.first + 1,
    });
    return { operations: ops.slice(0, q.first), hasNextPage: ops.length > q.first };
  }

  /**
   * cancel stops a running operation of the actor's (or any, for admins), on whichever replica
   * runs it, and returns it ended.
   */
  async cancel(actor: Actor, id: OperationId): Promise<Operation> {
    const op = await this.get(actor, id);
    const outcome = await this.cancels.cancel(op.id, op.replica?.id ?? null);
    if (!outcome.ok)
      throw new ServiceError(
        'REFUSED',
        outcome.reason === 'PAST_RETURN'
          ? `operation ${id} can no longer be cancelled: ${outcome.why}`
          : `operation ${id} is ${op.status.toLowerCase()}, not running`,
        'input.id',
      );
    await this.runner.settled(op.id);
    await this.em.refresh(op);
    const until = performance.now() + REMOTE_END_MS;
    while ((op.status === 'RUNNING' || op.status === 'PENDING') && performance.now() < until) {
      await new Promise((r) => setTimeout(r, REMOTE_POLL_MS));
      await this.em.refresh(op);
    }
    return op;
  }
}

/** visible says whether the actor may see an operation. */
export function visible(actor: Actor, op: { actor?: { id: string } | null }): boolean {
  return actor.isAdmin || op.actor?.id === actor.userId;
}
