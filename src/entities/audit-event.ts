import { defineEntity, p } from '@mikro-orm/core';
import { type AuditEventId, newId, type TargetType } from './ids.ts';
import { User } from './user.ts';

/** AUDIT_RESULTS: OK (done), DENIED (not allowed), ERROR (allowed but failed). */
export const AUDIT_RESULTS = ['OK', 'DENIED', 'ERROR'] as const;
/** AuditResult is one of AUDIT_RESULTS. */
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** AuditEventSchema maps AuditEvent to the `audit_events` table. */
export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p
      .uuid()
      .$type<AuditEventId>()
      .primary()
      .onCreate(() => newId<AuditEventId>()),
    /** actor is who acted; null when anonymous (a failed sign-in) or the controller itself. */
    actor: () => p.manyToOne(User).ref().nullable().deleteRule('set null').index(),
    /** action is the mutation or service call, e.g. `hostAdd`. */
    action: p.string().length(64),
    targetType: p.string().length(32).$type<TargetType>(),
    targetId: p.string().length(64).nullable(),
    result: p.enum(AUDIT_RESULTS),
    message: p.text().nullable(),
    address: p.string().length(64).nullable(),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .index(),
    details: p.json<Record<string, unknown>>().onCreate(() => ({})),
  },
  indexes: [{ name: 'audit_events_target_index', properties: ['targetType', 'targetId'] }],
});

/** AuditEvent records who did what to which target, and how it ended. */
export class AuditEvent extends AuditEventSchema.class {}
AuditEventSchema.setClass(AuditEvent);
