import type { UserId } from '../entities/ids.ts';
import type { LimitUsage, QuotaLimits } from '../services/quotas/quota-service.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { UserType } from './user.ts';
import { QuotaLimitEnum, runForQuery, UserError, type UserErrorShape } from './user-errors.ts';

type QuotaShape = QuotaLimits & { readonly updatedAt: Date | null };

/** QuotaType is a user's allocation limits; null means unlimited. */
export const QuotaType = builder.objectRef<QuotaShape>('Quota').implement({
  description:
    'Limits of one user, on what they hold and on what they consume within the window (quotas.window in the config); a null limit means unlimited.',
  fields: (t) => ({
    vms: t.int({ nullable: true, resolve: (q) => q.vms }),
    runningVms: t.int({ nullable: true, resolve: (q) => q.runningVms }),
    vcpus: t.int({ nullable: true, resolve: (q) => q.vcpus }),
    memoryBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.memoryBytes }),
    diskBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.diskBytes }),
    images: t.int({ nullable: true, resolve: (q) => q.images }),
    imageBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.imageBytes }),
    snapshots: t.int({ nullable: true, resolve: (q) => q.snapshots }),
    cpuSeconds: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.cpuSeconds }),
    diskReadBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.diskReadBytes }),
    diskWriteBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.diskWriteBytes }),
    netRxBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.netRxBytes }),
    netTxBytes: t.field({ type: 'BigInt', nullable: true, resolve: (q) => q.netTxBytes }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (q) => q.updatedAt }),
  }),
});

builder.objectField(UserType, 'quota', (t) =>
  t.field({
    type: QuotaType,
    description: "The user's limits (visible to the user and to admins).",
    resolve: (u, _a, ctx) =>
      runForQuery(() => ctx.services.quotas.get(ctx.actor as NonNullable<typeof ctx.actor>, u.id)),
  }),
);

/** LimitUsageType is one limit of a user with its use. */
export const LimitUsageType = builder.objectRef<LimitUsage>('LimitUsage').implement({
  description:
    'One limit of a user: its value, what is in use now (or consumed in this window), and what remains.',
  fields: (t) => ({
    limit: t.field({ type: QuotaLimitEnum, resolve: (u) => u.limit }),
    max: t.field({
      type: 'BigInt',
      nullable: true,
      description: "The limit's value; null: unlimited.",
      resolve: (u) => u.max,
    }),
    used: t.field({ type: 'BigInt', resolve: (u) => u.used }),
    remaining: t.field({
      type: 'BigInt',
      nullable: true,
      description: 'What may still be taken; null: unlimited.',
      resolve: (u) => u.remaining,
    }),
    periodStart: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Where the window a consumption limit counts over began; null for allocation.',
      resolve: (u) => u.period?.start ?? null,
    }),
    periodEnd: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When that window ends and the use counts from zero again.',
      resolve: (u) => u.period?.end ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  quotaUsage: t.field({
    type: [LimitUsageType],
    authScopes: { signedIn: true },
    description:
      "Every limit of a user (the viewer when absent) with its use and what remains. The user's own, or anyone's for admins.",
    args: { user: t.arg.globalID({ for: UserType, required: false }) },
    resolve: (_r, args, ctx) => {
      const actor = ctx.actor as NonNullable<typeof ctx.actor>;
      return runForQuery(() =>
        ctx.services.quotas.usage(actor, (args.user?.id ?? actor.userId) as UserId),
      );
    },
  }),
}));

const QuotaSetInput = builder.inputType('QuotaSetInput', {
  description: 'Limits to change: a field left out is unchanged, null makes it unlimited.',
  fields: (t) => ({
    user: t.globalID({ for: UserType }),
    vms: t.int({ required: false }),
    runningVms: t.int({ required: false }),
    vcpus: t.int({ required: false }),
    memoryBytes: t.field({ type: 'BigInt', required: false }),
    diskBytes: t.field({ type: 'BigInt', required: false }),
    images: t.int({ required: false }),
    imageBytes: t.field({ type: 'BigInt', required: false }),
    snapshots: t.int({ required: false }),
    cpuSeconds: t.field({ type: 'BigInt', required: false }),
    diskReadBytes: t.field({ type: 'BigInt', required: false }),
    diskWriteBytes: t.field({ type: 'BigInt', required: false }),
    netRxBytes: t.field({ type: 'BigInt', required: false }),
    netTxBytes: t.field({ type: 'BigInt', required: false }),
  }),
});

const QuotaPayload = builder
  .objectRef<{ quota: QuotaShape | null; userErrors: UserErrorShape[] }>('QuotaPayload')
  .implement({
    fields: (t) => ({
      quota: t.field({ type: QuotaType, nullable: true, resolve: (p) => p.quota }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

builder.mutationFields((t) => ({
  quotaSet: t.field({
    type: QuotaPayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: QuotaSetInput }) },
    resolve: async (_r, { input }, ctx) => {
      const userId = input.user.id as UserId;
      const { user: _user, ...limits } = input;
      const changes = Object.fromEntries(
        Object.entries(limits).filter(([, v]) => v !== undefined),
      ) as Partial<QuotaLimits>;
      const out = await audited(ctx, 'quotaSet', { type: 'QUOTA', id: userId }, () =>
        ctx.services.quotas.set(ctx.actor as NonNullable<typeof ctx.actor>, userId, changes),
      );
      return { quota: out.result, userErrors: out.userErrors };
    },
  }),
}));
