import { encodeGlobalID } from '@pothos/plugin-relay';
import type { OperationId } from '../entities/ids.ts';
import { OPERATION_STATUSES, Operation } from '../entities/operation.ts';
import type { OperationUpdate } from '../services/operations/operation-runner.ts';
import { visible } from '../services/operations/operation-service.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

// The API types of the resources operations work on, by the target type operations record.
const TARGET_TYPENAMES: Record<string, string> = {
  VM: 'Vm',
  IMAGE: 'Image',
  HOST: 'Host',
  EXECUTION: 'Execution',
};

const OperationStatusEnum = builder.enumType('OperationStatus', { values: OPERATION_STATUSES });

/** OperationType is a long action: visible to the user who asked for it and to admins. */
export const OperationType = builder.node(Operation, {
  name: 'Operation',
  id: { resolve: (o) => o.id },
  authScopes: (o, ctx) => ctx.actor !== null && visible(ctx.actor, o),
  loadOne: (id, ctx) => ctx.services.em.findOne(Operation, { id: id as OperationId }),
  fields: (t) => ({
    kind: t.exposeString('kind'),
    status: t.field({ type: OperationStatusEnum, resolve: (o) => o.status }),
    progress: t.exposeFloat('progress', { description: 'From 0 to 1.' }),
    phase: t.exposeString('phase', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId', { nullable: true }),
    target: t.id({
      nullable: true,
      description:
        'The global id of what it works on (a VM, image, host or execution), as `node(id:)` and the resources’ `id` fields give it.',
      resolve: (o) => {
        const typename = TARGET_TYPENAMES[o.targetType];
        return typename && o.targetId ? encodeGlobalID(typename, o.targetId) : null;
      },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  operations: t.connection({
    type: OperationType,
    authScopes: { signedIn: true },
    description: 'Your operations, newest first (every operation, for admins).',
    resolve: async (_r, args, ctx) => {
      const after = decodeCursor(args.after)?.split('|');
      const { operations, hasNextPage } = await ctx.services.operations.list(
        ctx.actor as NonNullable<typeof ctx.actor>,
        {
          first: pageSize(args),
          ...(after?.length === 2
            ? { after: { createdAt: new Date(after[0] as string), id: after[1] as OperationId } }
            : {}),
        },
      );
      return connectionOf(operations, (o) => `${o.createdAt.toISOString()}|${o.id}`, hasNextPage);
    },
  }),
}));

const OperationCancelInput = builder.inputType('OperationCancelInput', {
  fields: (t) => ({ id: t.globalID({ for: OperationType }) }),
});

const OperationPayload = builder
  .objectRef<{ operation: Operation | null; userErrors: UserErrorShape[] }>('OperationPayload')
  .implement({
    fields: (t) => ({
      operation: t.field({ type: OperationType, nullable: true, resolve: (p) => p.operation }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

builder.mutationFields((t) => ({
  operationCancel: t.field({
    type: OperationPayload,
    authScopes: { signedIn: true },
    description:
      'Cancel a running operation; it stops and cleans up after itself, then reports CANCELLED.',
    args: { input: t.arg({ type: OperationCancelInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as OperationId;
      const out = await audited(ctx, 'operationCancel', { type: 'SYSTEM', id }, () =>
        ctx.services.operations.cancel(ctx.actor as NonNullable<typeof ctx.actor>, id),
      );
      return { operation: out.result, userErrors: out.userErrors };
    },
  }),
}));

export const OperationEvent = builder.objectRef<OperationUpdate>('OperationEvent').implement({
  description: "A change of an operation's status or progress.",
  fields: (t) => ({
    operation: t.field({
      type: OperationType,
      nullable: true,
      resolve: (u, _a, ctx) => ctx.services.em.fork().findOne(Operation, { id: u.id }),
    }),
    status: t.field({ type: OperationStatusEnum, resolve: (u) => u.status }),
    progress: t.exposeFloat('progress'),
    phase: t.exposeString('phase', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

builder.subscriptionFields((t) => ({
  operationUpdated: t.field({
    type: OperationEvent,
    authScopes: { signedIn: true },
    description: 'Status and progress of your operations (one, or all), as they change.',
    args: { operation: t.arg.globalID({ for: OperationType, required: false }) },
    subscribe: (_r, args, ctx) => {
      const actor = ctx.actor as NonNullable<typeof ctx.actor>;
      return ctx.services.events.follow('operationUpdated', async function* (events) {
        for await (const update of events) {
          if (args.operation && args.operation.id !== update.id) continue;
          if (actor.isAdmin || update.actorId === actor.userId) yield update;
        }
      });
    },
    resolve: (update) => update,
  }),
}));
