import { GraphQLError } from 'graphql';
import type { UserId, VmId } from '../entities/ids.ts';
import { USAGE_GRANULARITIES } from '../entities/usage-record.ts';
import type { VmMetrics } from '../services/metering/live-metrics.ts';
import type { UsageAmounts } from '../services/metering/usage-records.ts';
import type { UsagePoint, UsageReport, VmUsageSeries } from '../services/metering/usage-service.ts';
import type { ConsumptionLimit } from '../services/quotas/consumption.ts';
import type { LimitUsage } from '../services/quotas/quota-service.ts';
import { builder } from './builder.ts';
import { actorOf } from './context.ts';
import { LimitUsageType } from './quota.ts';
import { UserType } from './user.ts';
import { QuotaLimitEnum, runForQuery } from './user-errors.ts';
import { VmType } from './vm.ts';

const GranularityEnum = builder.enumType('UsageGranularity', {
  description: 'How long a usage bucket is: a minute, an hour or a day (UTC).',
  values: USAGE_GRANULARITIES,
});

const UsageAmountsType = builder.objectRef<UsageAmounts>('UsageAmounts').implement({
  description: 'What was consumed: vCPU time, disk and network bytes, memory over time.',
  fields: (t) => ({
    cpuSeconds: t.float({
      description: 'Busy time of its vCPUs, in seconds.',
      resolve: (u) => Number(u.cpuNs) / 1e9,
    }),
    diskReadBytes: t.field({ type: 'BigInt', resolve: (u) => u.diskReadBytes }),
    diskWriteBytes: t.field({ type: 'BigInt', resolve: (u) => u.diskWriteBytes }),
    netRxBytes: t.field({ type: 'BigInt', resolve: (u) => u.netRxBytes }),
    netTxBytes: t.field({ type: 'BigInt', resolve: (u) => u.netTxBytes }),
    memoryByteSeconds: t.field({
      type: 'BigInt',
      description: 'Memory held over time: bytes times the seconds they were held.',
      resolve: (u) => u.memoryByteSeconds,
    }),
  }),
});

const UsagePointType = builder.objectRef<UsagePoint>('UsagePoint').implement({
  description:
    'What was consumed in one bucket. Older usage is kept per hour and then per day, so a bucket may be coarser than the granularity asked for.',
  fields: (t) => ({
    start: t.field({ type: 'DateTime', resolve: (p) => p.start }),
    granularity: t.field({ type: GranularityEnum, resolve: (p) => p.granularity }),
    used: t.field({ type: UsageAmountsType, resolve: (p) => p }),
  }),
});

const VmUsageType = builder.objectRef<VmUsageSeries>('VmUsage').implement({
  description: "One VM's consumption in a usage report.",
  fields: (t) => ({
    vmId: t.globalID({
      description: "The VM's id (it may have been removed since).",
      resolve: (v) => ({ type: 'Vm', id: v.vmId }),
    }),
    vmName: t.string({ resolve: (v) => v.vmName }),
    total: t.field({ type: UsageAmountsType, resolve: (v) => v.total }),
    points: t.field({ type: [UsagePointType], resolve: (v) => v.points }),
  }),
});

const UsageReportType = builder.objectRef<UsageReport>('UsageReport').implement({
  description: "What a user's VMs consumed over a period: per VM and in total.",
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (r) => r.from }),
    to: t.field({ type: 'DateTime', resolve: (r) => r.to }),
    granularity: t.field({ type: GranularityEnum, resolve: (r) => r.granularity }),
    total: t.field({ type: UsageAmountsType, resolve: (r) => r.total }),
    vms: t.field({ type: [VmUsageType], resolve: (r) => r.vms }),
  }),
});

const VmMetricsType = builder.objectRef<VmMetrics>('VmMetrics').implement({
  description: "A running VM's rates over the last metering interval.",
  fields: (t) => ({
    vm: t.field({
      type: VmType,
      nullable: true,
      resolve: (m, _a, ctx) => ctx.services.vms.view(m.vmId),
    }),
    at: t.field({ type: 'DateTime', resolve: (m) => m.at }),
    seconds: t.float({
      description: 'The interval the rates are over.',
      resolve: (m) => m.seconds,
    }),
    cpuPercent: t.float({
      description: 'Busy time of its vCPUs as a share of all of them (100: every vCPU busy).',
      resolve: (m) => m.cpuPercent,
    }),
    memoryBytes: t.field({ type: 'BigInt', resolve: (m) => m.memoryBytes }),
    diskReadBytesPerSecond: t.float({ resolve: (m) => m.diskReadBytesPerSecond }),
    diskWriteBytesPerSecond: t.float({ resolve: (m) => m.diskWriteBytesPerSecond }),
    netRxBytesPerSecond: t.float({ resolve: (m) => m.netRxBytesPerSecond }),
    netTxBytesPerSecond: t.float({ resolve: (m) => m.netTxBytesPerSecond }),
  }),
});

const VmOveruseType = builder
  .objectRef<{ limit: ConsumptionLimit; suspendAt: Date }>('VmOveruse')
  .implement({
    description:
      'Its owner has crossed a consumption limit whose policy pauses running VMs: which limit, and when this VM is (or was) paused for it. It goes once the owner is under the limit again (a new window, a raised limit).',
    fields: (t) => ({
      limit: t.field({ type: QuotaLimitEnum, resolve: (o) => o.limit }),
      suspendAt: t.field({ type: 'DateTime', resolve: (o) => o.suspendAt }),
    }),
  });

builder.objectFields(VmType, (t) => ({
  metrics: t.field({
    type: [UsagePointType],
    description: 'What the VM consumed in [from, to), bucket by bucket (the last day when absent).',
    args: {
      from: t.arg({ type: 'DateTime', required: false }),
      to: t.arg({ type: 'DateTime', required: false }),
      granularity: t.arg({ type: GranularityEnum, required: false }),
    },
    resolve: (vm, args, ctx) => {
      const to = args.to ?? new Date();
      const from = args.from ?? new Date(to.getTime() - 86_400_000);
      return runForQuery(() =>
        ctx.services.usage.vmSeries(vm.id as VmId, from, to, args.granularity ?? 'MINUTE'),
      );
    },
  }),
  overuse: t.field({
    type: VmOveruseType,
    nullable: true,
    resolve: (vm) =>
      vm.overuseLimit && vm.suspendAt
        ? { limit: vm.overuseLimit as ConsumptionLimit, suspendAt: vm.suspendAt }
        : null,
  }),
}));

builder.queryFields((t) => ({
  usage: t.field({
    type: UsageReportType,
    authScopes: { signedIn: true },
    description:
      "What a user's VMs (the viewer's when absent) consumed in [from, to): per VM and in total, bucket by bucket. The user's own, or anyone's for admins.",
    args: {
      user: t.arg.globalID({ for: UserType, required: false }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      granularity: t.arg({ type: GranularityEnum, required: false }),
    },
    resolve: (_r, args, ctx) => {
      const actor = actorOf(ctx);
      return runForQuery(() =>
        ctx.services.usage.report(
          actor,
          (args.user?.id ?? actor.userId) as UserId,
          args.from,
          args.to,
          args.granularity ?? 'HOUR',
        ),
      );
    },
  }),
}));

builder.subscriptionFields((t) => ({
  vmMetrics: t.field({
    type: VmMetricsType,
    authScopes: { signedIn: true },
    description:
      "A VM's rates at every metering interval while it runs, for anyone who may see it. Losing your role stops delivery.",
    args: { vm: t.arg.globalID({ for: VmType, required: true }) },
    subscribe: async (_r, args, ctx) => {
      const actor = actorOf(ctx);
      const vmId = args.vm.id as VmId;
      if (!(await ctx.services.vms.visible(actor, vmId)))
        throw new GraphQLError(`no VM ${args.vm.id} that you may see`, {
          extensions: { code: 'NOT_FOUND' },
        });
      return ctx.services.events.follow('vmMetrics', async function* (events) {
        for await (const m of events) {
          if (m.vmId !== vmId) continue;
          if (!(await ctx.services.vms.visible(actor, vmId))) return;
          yield m;
        }
      });
    },
    resolve: (m) => m,
  }),
  quotaUsageChanged: t.field({
    type: [LimitUsageType],
    authScopes: { signedIn: true },
    description:
      "Every limit of a user (the viewer when absent) with its use, now and whenever it changes: at reservations and at each metering round. The user's own, or anyone's for admins.",
    args: { user: t.arg.globalID({ for: UserType, required: false }) },
    subscribe: async (_r, args, ctx) => {
      const actor = actorOf(ctx);
      const userId = (args.user?.id ?? actor.userId) as UserId;
      // A refusal (another user's, for a user; a user removed meanwhile) reaches the client as itself.
      const usage = () => runForQuery(() => ctx.services.quotas.usage(actor, userId));
      const key = (all: readonly LimitUsage[]) => all.map((l) => `${l.max}/${l.used}`).join(' ');
      let last = await usage();
      return ctx.services.events.follow('quotaUsageTouched', async function* (events) {
        yield last;
        for await (const who of events) {
          if (who !== null && who !== userId) continue;
          const now = await usage();
          if (key(now) === key(last)) continue;
          last = now;
          yield now;
        }
      });
    },
    resolve: (u) => u,
  }),
}));
