import { z } from 'zod';
import type { SnapshotId, VmId } from '../entities/ids.ts';
import { Snapshot } from '../entities/snapshot.ts';
import type { Vm } from '../entities/vm.ts';
import { VmView } from '../services/vms/vm-view.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { actorOf } from './context.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';
import { VmType } from './vm.ts';

/** SnapshotType is a snapshot of a VM, seen by whoever may see the VM. */
export const SnapshotType = builder.node(Snapshot, {
  name: 'Snapshot',
  id: { resolve: (s) => s.id },
  authScopes: async (snap, ctx) =>
    ctx.actor !== null &&
    (await ctx.services.permissions.can(ctx.actor, { type: 'VM', id: snap.vm.id }, 'view')),
  loadOne: (id, ctx) => ctx.services.em.findOne(Snapshot, { id: id as SnapshotId }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    withMemory: t.exposeBoolean('withMemory', {
      description: 'Taken while the VM ran: reverting resumes the guest where it was.',
    }),
    vm: t.field({ type: VmType, resolve: async (s) => VmView.of(await s.vm.loadOrFail()) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectField(VmType, 'snapshots', (t) =>
  t.field({
    type: [SnapshotType],
    description: 'Its snapshots, oldest first.',
    resolve: (vm, _a, ctx) => ctx.services.snapshots.list(actorOf(ctx), vm.id),
  }),
);

const SnapshotPayload = builder
  .objectRef<{ snapshot: Snapshot | null; userErrors: UserErrorShape[] }>('SnapshotPayload')
  .implement({
    fields: (t) => ({
      snapshot: t.field({ type: SnapshotType, nullable: true, resolve: (p) => p.snapshot }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const SnapshotRevertPayload = builder
  .objectRef<{ vm: Vm | null; userErrors: UserErrorShape[] }>('SnapshotRevertPayload')
  .implement({
    fields: (t) => ({
      vm: t.field({ type: VmType, nullable: true, resolve: (p) => p.vm && VmView.of(p.vm) }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const SnapshotDeletePayload = builder
  .objectRef<{ deletedSnapshotId: string | null; userErrors: UserErrorShape[] }>(
    'SnapshotDeletePayload',
  )
  .implement({
    fields: (t) => ({
      deletedSnapshotId: t.globalID({
        nullable: true,
        resolve: (p) =>
          p.deletedSnapshotId ? { type: 'Snapshot', id: p.deletedSnapshotId } : null,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const SnapshotCreateInput = builder.inputType('VmSnapshotCreateInput', {
  fields: (t) => ({
    vm: t.globalID({ for: VmType }),
    name: t.string({ validate: z.string().max(64) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
  }),
});

const SnapshotIdInput = builder.inputType('VmSnapshotIdInput', {
  fields: (t) => ({ id: t.globalID({ for: SnapshotType }) }),
});

builder.mutationFields((t) => ({
  vmSnapshotCreate: t.field({
    type: SnapshotPayload,
    authScopes: { signedIn: true },
    description:
      'Snapshot a VM: its disk, and its memory while it runs (the guest pauses briefly). Needs OPERATOR.',
    args: { input: t.arg({ type: SnapshotCreateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const vmId = input.vm.id as VmId;
      const out = await audited(ctx, 'vmSnapshotCreate', { type: 'VM', id: vmId }, () =>
        ctx.services.snapshots.create(actorOf(ctx), vmId, {
          name: input.name,
          ...(input.description != null ? { description: input.description } : {}),
        }),
      );
      return { snapshot: out.result, userErrors: out.userErrors };
    },
  }),
  vmSnapshotRevert: t.field({
    type: SnapshotRevertPayload,
    authScopes: { signedIn: true },
    description:
      'Return a VM to a snapshot; what changed since is lost. A snapshot with memory resumes the guest as it was. Needs OPERATOR.',
    args: { input: t.arg({ type: SnapshotIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as SnapshotId;
      const out = await audited(ctx, 'vmSnapshotRevert', { type: 'SNAPSHOT', id }, () =>
        ctx.services.snapshots.revert(actorOf(ctx), id),
      );
      return { vm: out.result, userErrors: out.userErrors };
    },
  }),
  vmSnapshotDelete: t.field({
    type: SnapshotDeletePayload,
    authScopes: { signedIn: true },
    description: 'Delete a snapshot; the VM stays as it is. Needs OPERATOR.',
    args: { input: t.arg({ type: SnapshotIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as SnapshotId;
      const out = await audited(ctx, 'vmSnapshotDelete', { type: 'SNAPSHOT', id }, () =>
        ctx.services.snapshots.delete(actorOf(ctx), id),
      );
      return {
        deletedSnapshotId: out.userErrors.length === 0 ? id : null,
        userErrors: out.userErrors,
      };
    },
  }),
}));
