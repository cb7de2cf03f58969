import { AUDIT_RESULTS, type AuditEvent } from '../entities/audit-event.ts';
import type { UserId } from '../entities/ids.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { UserType } from './user.ts';

const AuditResultEnum = builder.enumType('AuditResult', { values: AUDIT_RESULTS });

/** AuditEventType is one entry of the audit trail (admins only). */
export const AuditEventType = builder.objectRef<AuditEvent>('AuditEvent').implement({
  authScopes: { admin: true },
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId', { nullable: true }),
    result: t.field({ type: AuditResultEnum, resolve: (e) => e.result }),
    message: t.exposeString('message', { nullable: true }),
    address: t.exposeString('address', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    actor: t.field({
      type: UserType,
      nullable: true,
      resolve: (e) => e.actor?.getEntity() ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  auditEvents: t.connection({
    type: AuditEventType,
    authScopes: { admin: true },
    description: 'The audit trail, newest first. Admins only.',
    args: {
      action: t.arg.string({ required: false }),
      actor: t.arg.globalID({ for: UserType, required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const after = decodeCursor(args.after)?.split('|');
      const { events, hasNextPage } = await ctx.services.audit.list(
        ctx.actor as NonNullable<typeof ctx.actor>,
        {
          first: pageSize(args),
          ...(args.action ? { action: args.action } : {}),
          ...(args.actor ? { actorId: args.actor.id as UserId } : {}),
          ...(after?.length === 2
            ? { after: { createdAt: new Date(after[0] as string), id: after[1] as string } }
            : {}),
        },
      );
      return connectionOf(events, (e) => `${e.createdAt.toISOString()}|${e.id}`, hasNextPage);
    },
  }),
}));
