import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditEvent, type AuditResult } from '../../entities/audit-event.ts';
import type { AuditEventId, TargetType, UserId } from '../../entities/ids.ts';
import { User } from '../../entities/user.ts';
import { type Actor, requireAdmin } from '../actor.ts';

/** AuditEntry is one thing to record: who did what to which target, and how it ended. */
export interface AuditEntry {
  readonly actor: Actor | null;
  readonly action: string;
  readonly targetType: TargetType;
  readonly targetId?: string | null;
  readonly result: AuditResult;
  readonly message?: string | null;
  readonly address?: string | null;
  readonly details?: Record<string, unknown>;
}

/** AuditQuery filters the audit trail, newest first. */
export interface AuditQuery {
  readonly action?: string;
  readonly actorId?: UserId;
  readonly first: number;
  /** after is the createdAt/id cursor of the last event seen. */
  readonly after?: { readonly createdAt: Date; readonly id: string };
}

/**
 * AuditService keeps the audit trail. It writes each event on a unit of work of its own, so
 * an event survives when the operation it describes rolls back (a refusal, a failure).
 */
export class AuditService {
  private readonly fresh: () => EntityManager;

  constructor(fresh: () => EntityManager) {
    this.fresh = fresh;
  }

  async record(entry: AuditEntry): Promise<void> {
    const em = this.fresh();
    em.create(AuditEvent, {
      actor: entry.actor ? em.getReference(User, entry.actor.userId) : null,
      action: entry.action.slice(0, 64),
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      result: entry.result,
      message: entry.message ?? null,
      address: (entry.address ?? entry.actor?.address ?? null)?.slice(0, 64) ?? null,
      details: entry.details ?? {},
    });
    await em.flush();
  }

  /** list reads the trail; admins only. */
  async list(actor: Actor, q: AuditQuery): Promise<{ events: AuditEvent[]; hasNextPage: boolean }> {
    requireAdmin(actor, 'read the audit trail');
    const em = this.fresh();
    const where: FilterQuery<AuditEvent> = {};
    if (q.action) where.action = q.action;
    if (q.actorId) where.actor = q.actorId;
    if (q.after) {
      const { createdAt, id } = q.after;
      where.$or = [
        { createdAt: { $lt: createdAt } },
        { createdAt, id: { $lt: id as AuditEventId } },
      ];
    }
    const events = await em.find(AuditEvent, where, {
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      limit: q.first + 1,
      populate: ['actor'],
    });
    return { events: events.slice(0, q.first), hasNextPage: events.length > q.first };
  }
}
