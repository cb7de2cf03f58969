import type { HostId, VmId } from '../entities/ids.ts';
import type { Operation } from '../entities/operation.ts';
import type { OperationUpdate } from '../services/operations/operation-runner.ts';
import { MIGRATION_PHASES, type MigrationProgress } from '../services/vms/migration-progress.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { actorOf } from './context.ts';
import { HostType } from './host.ts';
import { OperationEvent, OperationType } from './operation.ts';
import { VmOperationPayload, VmType } from './vm.ts';

const MigrationPhaseEnum = builder.enumType('MigrationPhase', {
  description:
    'PREPARING (checks, the base image and an empty disk on the destination), COPYING_DISK, COPYING_MEMORY, POST_COPY (the guest runs on the destination and pulls the rest of its memory from the source), SWITCHING_OVER (the guest pauses here and resumes there), CLEANING_UP.',
  values: MIGRATION_PHASES,
});

const MigrationProgressType = builder.objectRef<MigrationProgress>('MigrationProgress').implement({
  description: "A live migration's figures, from libvirt's job statistics on the source.",
  fields: (t) => ({
    phase: t.field({ type: MigrationPhaseEnum, resolve: (p) => p.phase }),
    from: t.field({
      type: HostType,
      nullable: true,
      resolve: (p, _a, ctx) => ctx.services.hosts.view(p.fromHostId as HostId),
    }),
    to: t.field({
      type: HostType,
      nullable: true,
      resolve: (p, _a, ctx) => ctx.services.hosts.view(p.toHostId as HostId),
    }),
    diskTotalBytes: t.exposeFloat('diskTotalBytes'),
    diskProcessedBytes: t.exposeFloat('diskProcessedBytes'),
    diskRemainingBytes: t.exposeFloat('diskRemainingBytes'),
    memoryTotalBytes: t.exposeFloat('memoryTotalBytes'),
    memoryProcessedBytes: t.exposeFloat('memoryProcessedBytes'),
    memoryRemainingBytes: t.exposeFloat('memoryRemainingBytes'),
    bytesPerSecond: t.exposeFloat('bytesPerSecond', {
      description: 'The transfer rate now, disk and memory together.',
    }),
    dirtyBytesPerSecond: t.exposeFloat('dirtyBytesPerSecond', {
      description: 'How fast the guest dirties memory already sent.',
    }),
    iteration: t.exposeInt('iteration', { description: 'Passes over the guest memory.' }),
    elapsedMs: t.exposeFloat('elapsedMs'),
    remainingMs: t.exposeFloat('remainingMs', {
      nullable: true,
      description: 'Time left at the current rate.',
    }),
    downtimeMs: t.exposeFloat('downtimeMs', {
      nullable: true,
      description: 'How long the guest was paused at switch-over, once it has moved.',
    }),
    postCopy: t.exposeBoolean('postCopy', {
      description:
        'Whether the migration switched to post-copy: the guest ran on the destination before all its memory had arrived.',
    }),
  }),
});

// A vmMigrate operation keeps its MigrationProgress as its details.
const migrationOf = (o: Pick<Operation | OperationUpdate, 'kind' | 'details'>) =>
  o.kind === 'vmMigrate' && typeof o.details.phase === 'string'
    ? (o.details as unknown as MigrationProgress)
    : null;

builder.objectField(OperationType, 'migration', (t) =>
  t.field({
    type: MigrationProgressType,
    nullable: true,
    description: "A migration's figures (null for other operations).",
    resolve: migrationOf,
  }),
);

builder.objectField(OperationEvent, 'migration', (t) =>
  t.field({
    type: MigrationProgressType,
    nullable: true,
    description: "A migration's figures (null for other operations).",
    resolve: migrationOf,
  }),
);

const VmMigrateInput = builder.inputType('VmMigrateInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    host: t.globalID({
      for: HostType,
      required: false,
      description: 'Where to; the scheduler chooses when absent.',
    }),
    bandwidthMiBs: t.int({ required: false, description: 'A cap on the transfer, in MiB/s.' }),
    maxDowntimeMs: t.int({
      required: false,
      description: "The longest the guest may pause at switch-over (libvirt's default: 300).",
    }),
    autoConverge: t.boolean({
      required: false,
      description: 'Slow the guest down when it dirties memory faster than it is sent.',
    }),
    postCopy: t.boolean({
      required: false,
      description:
        'Switch to post-copy after the first full pass over memory: the guest runs on the destination at once and pulls the rest of its memory from the source, so even a guest that dirties memory faster than it is sent moves, in bounded time. From then on the migration cannot be cancelled, and losing either host stops the guest (it is left paused in two halves for an admin to recover).',
    }),
  }),
});

builder.mutationFields((t) => ({
  vmMigrate: t.field({
    type: VmOperationPayload,
    authScopes: { signedIn: true },
    description:
      'Move a running VM to another host, live, disk included. Watch the operation (its `migration` figures); cancelling leaves the VM where it was. Admins, and owners where the controller allows.',
    args: { input: t.arg({ type: VmMigrateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmMigrate', { type: 'VM', id }, () =>
        ctx.services.migrations.migrate(actorOf(ctx), id, {
          ...(input.host ? { host: input.host.id as HostId } : {}),
          ...(input.bandwidthMiBs != null ? { bandwidthMiBs: input.bandwidthMiBs } : {}),
          ...(input.maxDowntimeMs != null ? { maxDowntimeMs: input.maxDowntimeMs } : {}),
          ...(input.autoConverge != null ? { autoConverge: input.autoConverge } : {}),
          ...(input.postCopy != null ? { postCopy: input.postCopy } : {}),
        }),
      );
      return {
        vm: out.result?.vm ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
}));
