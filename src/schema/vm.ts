import { z } from 'zod';
import type { HostId, ImageId, UserId, VmId } from '../entities/ids.ts';
import { Image } from '../entities/image.ts';
import type { Operation } from '../entities/operation.ts';
import { User } from '../entities/user.ts';
import { VM_STATES, type Vm } from '../entities/vm.ts';
import type { Actor } from '../services/actor.ts';
import type { VmStateChange } from '../services/vms/vm-state.ts';
import { VmView } from '../services/vms/vm-view.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { actorOf } from './context.ts';
import { HostType } from './host.ts';
import { ImageImportPayload, ImageType } from './image.ts';
import { OperationType } from './operation.ts';
import { RoleEnum, revealOwner, SharePayload, ShareType } from './share.ts';
import { UserType } from './user.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

const VmStateEnum = builder.enumType('VmState', {
  description:
    "CREATING until its domain first exists; RUNNING, PAUSED, STOPPED and CRASHED as libvirt reports them; MIGRATING while it moves; UNKNOWN while its host can't be reached; ERROR when its domain vanished.",
  values: VM_STATES,
});

/** VmType is a virtual machine, seen by those with a role on it (and admins). */
export const VmType = builder.node(VmView, {
  name: 'Vm',
  id: { resolve: (v) => v.id },
  authScopes: async (vm, ctx) =>
    ctx.actor !== null &&
    (await ctx.services.permissions.can(ctx.actor, { type: 'VM', id: vm.id }, 'view')),
  loadOne: (id, ctx) => ctx.services.vms.view(id as VmId),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    owner: t.field({
      type: UserType,
      resolve: async (v, _a, ctx) =>
        revealOwner(
          ctx,
          await ctx.services.em.getReference(User, v.ownerId, { wrapped: true }).loadOrFail(),
        ),
    }),
    host: t.field({
      type: HostType,
      nullable: true,
      resolve: (v, _a, ctx) => (v.hostId ? ctx.services.hosts.view(v.hostId) : null),
    }),
    image: t.field({
      type: ImageType,
      nullable: true,
      description: 'The image it was made from; null once that image was removed.',
      resolve: async (v, _a, ctx) => {
        if (!v.imageId) return null;
        ctx.revealed.add(v.imageId);
        return ctx.services.em.getReference(Image, v.imageId, { wrapped: true }).load();
      },
    }),
    state: t.field({ type: VmStateEnum, resolve: (v) => v.state }),
    stateReason: t.exposeString('stateReason'),
    vcpus: t.exposeInt('vcpus'),
    maxVcpus: t.exposeInt('maxVcpus', { description: 'vCPUs can grow live up to this.' }),
    memoryBytes: t.expose('memoryBytes', { type: 'BigInt' }),
    maxMemoryBytes: t.expose('maxMemoryBytes', {
      type: 'BigInt',
      description: 'Memory can grow live up to this.',
    }),
    diskBytes: t.expose('diskBytes', {
      type: 'BigInt',
      description: 'The disk size the guest sees.',
    }),
    diskUsedBytes: t.field({
      type: 'BigInt',
      nullable: true,
      description:
        'What its copy-on-write disk takes on the host now (null while the host is unreachable).',
      resolve: (v, _a, ctx) => ctx.services.vms.diskUsed(v),
    }),
    mac: t.exposeString('mac'),
    ipAddress: t.exposeString('ipAddress', { nullable: true }),
    myRole: t.field({
      type: RoleEnum,
      nullable: true,
      resolve: (v, _a, ctx) => ctx.services.vms.roleOf(actorOf(ctx), v.id),
    }),
    shares: t.field({
      type: [ShareType],
      description: 'Who has which role on it (owners and admins only).',
      resolve: (v, _a, ctx) => ctx.services.vms.shares(actorOf(ctx), v.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const VmFilterInput = builder.inputType('VmFilter', {
  fields: (t) => ({
    text: t.string({ required: false, validate: z.string().max(64) }),
    owner: t.globalID({ required: false, for: UserType }),
    state: t.field({ type: VmStateEnum, required: false }),
    host: t.globalID({ required: false, for: HostType }),
  }),
});

builder.queryFields((t) => ({
  vms: t.connection({
    type: VmType,
    authScopes: { signedIn: true },
    description: 'VMs you have a role on (every VM, for admins), by name.',
    args: { filter: t.arg({ type: VmFilterInput, required: false }) },
    resolve: async (_r, args, ctx) => {
      const after = decodeCursor(args.after)?.split('\n');
      const f = args.filter;
      const { vms, hasNextPage } = await ctx.services.vms.list(actorOf(ctx), {
        first: pageSize(args),
        ...(after?.length === 2
          ? { after: { name: after[0] as string, id: after[1] as VmId } }
          : {}),
        filter: {
          ...(f?.text ? { text: f.text } : {}),
          ...(f?.owner ? { owner: f.owner.id as UserId } : {}),
          ...(f?.state ? { state: f.state } : {}),
          ...(f?.host ? { host: f.host.id as HostId } : {}),
        },
      });
      return connectionOf(vms, (v) => `${v.name}\n${v.id}`, hasNextPage);
    },
  }),
}));

type VmResult = { vm: Vm | null; userErrors: UserErrorShape[] };
type VmOperationResult = VmResult & { operation: Operation | null };

const VmPayload = builder.objectRef<VmResult>('VmPayload').implement({
  fields: (t) => ({
    vm: t.field({ type: VmType, nullable: true, resolve: (p) => p.vm && VmView.of(p.vm) }),
    userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
  }),
});

export const VmOperationPayload = builder
  .objectRef<VmOperationResult>('VmOperationPayload')
  .implement({
    description: 'A VM and the operation that works on it in the background.',
    fields: (t) => ({
      vm: t.field({ type: VmType, nullable: true, resolve: (p) => p.vm && VmView.of(p.vm) }),
      operation: t.field({ type: OperationType, nullable: true, resolve: (p) => p.operation }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const ResizeAppliedEnum = builder.enumType('ResizeApplied', {
  description:
    'LIVE: the running VM has it now. NEXT_BOOT: it takes effect when the VM next starts.',
  values: ['LIVE', 'NEXT_BOOT'] as const,
});

const VmResizePayload = builder
  .objectRef<VmResult & { appliedAt: 'LIVE' | 'NEXT_BOOT' | null }>('VmResizePayload')
  .implement({
    fields: (t) => ({
      vm: t.field({ type: VmType, nullable: true, resolve: (p) => p.vm && VmView.of(p.vm) }),
      appliedAt: t.field({ type: ResizeAppliedEnum, nullable: true, resolve: (p) => p.appliedAt }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const VmRemovePayload = builder
  .objectRef<{ removedVmId: string | null; userErrors: UserErrorShape[] }>('VmRemovePayload')
  .implement({
    fields: (t) => ({
      removedVmId: t.globalID({
        nullable: true,
        resolve: (p) => (p.removedVmId ? { type: 'Vm', id: p.removedVmId } : null),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const VmCreateInput = builder.inputType('VmCreateInput', {
  fields: (t) => ({
    image: t.globalID({ for: ImageType }),
    name: t.string({ validate: z.string().max(64) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
    vcpus: t.int(),
    memoryBytes: t.field({ type: 'BigInt', description: 'Whole MiB.' }),
    diskBytes: t.field({
      type: 'BigInt',
      required: false,
      description: "The disk size the guest sees; at least the image's virtual size (the default).",
    }),
    maxVcpus: t.int({ required: false, description: 'The ceiling for growing vCPUs live.' }),
    maxMemoryBytes: t.field({
      type: 'BigInt',
      required: false,
      description: 'The ceiling for growing memory live.',
    }),
    host: t.globalID({
      required: false,
      for: HostType,
      description: 'Admins only: the host to use.',
    }),
    sshKeys: t.stringList({
      required: false,
      validate: z.array(z.string().max(16384)).max(32),
      description: 'OpenSSH public keys, given to the guest through a cloud-init NoCloud seed.',
    }),
    userData: t.string({
      required: false,
      validate: z.string().max(65536),
      description: 'cloud-init user data, given to the guest verbatim.',
    }),
    start: t.boolean({ required: false, defaultValue: true }),
  }),
});

const VmCloneInput = builder.inputType('VmCloneInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    name: t.string({ validate: z.string().max(64) }),
    pauseSource: t.boolean({
      required: false,
      defaultValue: false,
      description:
        'A running source is refused unless this is true: then it is paused while its disk is copied.',
    }),
    start: t.boolean({ required: false, defaultValue: false }),
  }),
});

const VmClonePayload = builder
  .objectRef<VmOperationResult & { sourcePaused: boolean | null }>('VmClonePayload')
  .implement({
    fields: (t) => ({
      vm: t.field({ type: VmType, nullable: true, resolve: (p) => p.vm && VmView.of(p.vm) }),
      operation: t.field({ type: OperationType, nullable: true, resolve: (p) => p.operation }),
      sourcePaused: t.boolean({
        nullable: true,
        description: 'The source runs, and is paused while its disk is copied.',
        resolve: (p) => p.sourcePaused,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const VmSaveAsImageInput = builder.inputType('VmSaveAsImageInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    name: t.string({ validate: z.string().max(128) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
    shutdown: t.boolean({
      required: false,
      defaultValue: false,
      description:
        'A running VM is refused unless this is true: then it is shut down first (ACPI, forced off after the configured timeout).',
    }),
  }),
});

const VmIdInput = builder.inputType('VmIdInput', {
  fields: (t) => ({ id: t.globalID({ for: VmType }) }),
});

const VmShutdownInput = builder.inputType('VmShutdownInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    timeoutSeconds: t.int({
      required: false,
      description: 'How long to wait for the guest before forcing it off (default from config).',
    }),
  }),
});

const VmResizeInput = builder.inputType('VmResizeInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    vcpus: t.int({ required: false }),
    memoryBytes: t.field({ type: 'BigInt', required: false }),
  }),
});

const VmUpdateInput = builder.inputType('VmUpdateInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    name: t.string({ required: false, validate: z.string().max(64) }),
    description: t.string({ required: false, validate: z.string().max(4096) }),
  }),
});

const VmShareInput = builder.inputType('VmShareInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    email: t.string({ validate: z.string().max(320) }),
    role: t.field({ type: RoleEnum }),
  }),
});

const VmUnshareInput = builder.inputType('VmUnshareInput', {
  fields: (t) => ({
    id: t.globalID({ for: VmType }),
    email: t.string({ validate: z.string().max(320) }),
  }),
});

const LIFECYCLE = {
  vmStart: ['start', 'Boot a stopped VM.'],
  vmPowerOff: ['powerOff', 'Stop a VM at once, like pulling the plug.'],
  vmReboot: ['reboot', 'Ask the guest to reboot (ACPI).'],
  vmSuspend: ['suspend', 'Pause a running VM (it keeps its memory).'],
  vmResume: ['resume', 'Resume a paused VM.'],
} as const;

builder.mutationFields((t) => ({
  vmCreate: t.field({
    type: VmOperationPayload,
    authScopes: { signedIn: true },
    description:
      'Create a VM from an image (you need OPERATOR on it, or it is public): it is placed at once and built by the returned operation.',
    args: { input: t.arg({ type: VmCreateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(
        ctx,
        'vmCreate',
        { type: 'VM', idOf: (r: { vm: Vm }) => r.vm.id },
        () =>
          ctx.services.vms.create(actorOf(ctx), {
            image: input.image.id as ImageId,
            name: input.name,
            vcpus: input.vcpus,
            memoryBytes: input.memoryBytes,
            ...(input.description != null ? { description: input.description } : {}),
            ...(input.diskBytes != null ? { diskBytes: input.diskBytes } : {}),
            ...(input.maxVcpus != null ? { maxVcpus: input.maxVcpus } : {}),
            ...(input.maxMemoryBytes != null ? { maxMemoryBytes: input.maxMemoryBytes } : {}),
            ...(input.host ? { host: input.host.id as HostId } : {}),
            ...(input.sshKeys ? { sshKeys: input.sshKeys } : {}),
            ...(input.userData != null ? { userData: input.userData } : {}),
            ...(input.start != null ? { start: input.start } : {}),
          }),
      );
      return {
        vm: out.result?.vm ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
  ...Object.fromEntries(
    Object.entries(LIFECYCLE).map(([name, [action, description]]) => [
      name,
      t.field({
        type: VmPayload,
        authScopes: { signedIn: true },
        description: `${description} Needs OPERATOR.`,
        args: { input: t.arg({ type: VmIdInput }) },
        resolve: async (_r, { input }, ctx) => {
          const id = input.id.id as VmId;
          const out = await audited(ctx, name, { type: 'VM', id }, () =>
            ctx.services.vms.act(actorOf(ctx), id, action),
          );
          return { vm: out.result, userErrors: out.userErrors };
        },
      }),
    ]),
  ),
  vmShutdown: t.field({
    type: VmOperationPayload,
    authScopes: { signedIn: true },
    description:
      'Ask the guest to power off (ACPI); the operation forces it off after the timeout. Needs OPERATOR.',
    args: { input: t.arg({ type: VmShutdownInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmShutdown', { type: 'VM', id }, () =>
        ctx.services.vms.shutdown(actorOf(ctx), id, input.timeoutSeconds ?? undefined),
      );
      return {
        vm: out.result?.vm ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
  vmResize: t.field({
    type: VmResizePayload,
    authScopes: { signedIn: true },
    description:
      'Change vCPUs and memory: live within the ceilings set at creation, otherwise at the next boot (appliedAt says which). Needs OWNER.',
    args: { input: t.arg({ type: VmResizeInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmResize', { type: 'VM', id }, () =>
        ctx.services.vms.resize(actorOf(ctx), id, {
          ...(input.vcpus != null ? { vcpus: input.vcpus } : {}),
          ...(input.memoryBytes != null ? { memoryBytes: input.memoryBytes } : {}),
        }),
      );
      return {
        vm: out.result?.vm ?? null,
        appliedAt: out.result?.appliedAt ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
  vmClone: t.field({
    type: VmClonePayload,
    authScopes: { signedIn: true },
    description:
      'Copy a VM on its host (copy-on-write: the image beneath stays shared) with a new UUID, name and MAC; the copy is yours. The source must be shut off, or pauseSource set. Needs OPERATOR.',
    args: { input: t.arg({ type: VmCloneInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmClone', { type: 'VM', id }, () =>
        ctx.services.vms.clone(actorOf(ctx), id, {
          name: input.name,
          pauseSource: input.pauseSource ?? false,
          start: input.start ?? false,
        }),
      );
      return {
        vm: out.result?.vm ?? null,
        operation: out.result?.operation ?? null,
        sourcePaused: out.result?.sourcePaused ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
  vmSaveAsImage: t.field({
    type: ImageImportPayload,
    authScopes: { signedIn: true },
    description:
      'Make a new image of your own from a VM disk, flattened on its host and checksummed into the image store. Needs OWNER.',
    args: { input: t.arg({ type: VmSaveAsImageInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmSaveAsImage', { type: 'VM', id }, () =>
        ctx.services.vms.saveAsImage(actorOf(ctx), id, {
          name: input.name,
          shutdown: input.shutdown ?? false,
          ...(input.description != null ? { description: input.description } : {}),
        }),
      );
      return {
        image: out.result?.image ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
  vmUpdate: t.field({
    type: VmPayload,
    authScopes: { signedIn: true },
    args: { input: t.arg({ type: VmUpdateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmUpdate', { type: 'VM', id }, () =>
        ctx.services.vms.update(actorOf(ctx), id, {
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.description != null ? { description: input.description } : {}),
        }),
      );
      return { vm: out.result, userErrors: out.userErrors };
    },
  }),
  vmRemove: t.field({
    type: VmRemovePayload,
    authScopes: { signedIn: true },
    description: 'Destroy a VM and delete its disk, seed, snapshots and shares. Needs OWNER.',
    args: { input: t.arg({ type: VmIdInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmRemove', { type: 'VM', id }, () =>
        ctx.services.vms.remove(actorOf(ctx), id),
      );
      return { removedVmId: out.userErrors.length === 0 ? id : null, userErrors: out.userErrors };
    },
  }),
  vmShare: t.field({
    type: SharePayload,
    authScopes: { signedIn: true },
    description: 'Give a user a role on a VM (or change it). Owners and admins.',
    args: { input: t.arg({ type: VmShareInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmShare', { type: 'VM', id }, async () => {
        const user = await ctx.services.users.idByEmail(input.email);
        await ctx.services.vms.share(actorOf(ctx), id, user, input.role);
        return ctx.services.vms.shares(actorOf(ctx), id);
      });
      return { shares: out.result, userErrors: out.userErrors };
    },
  }),
  vmUnshare: t.field({
    type: SharePayload,
    authScopes: { signedIn: true },
    description: "Take a user's role on a VM away. A VM always keeps an owner.",
    args: { input: t.arg({ type: VmUnshareInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as VmId;
      const out = await audited(ctx, 'vmUnshare', { type: 'VM', id }, async () => {
        const user = await ctx.services.users.idByEmail(input.email);
        await ctx.services.vms.unshare(actorOf(ctx), id, user);
        return ctx.services.vms.shares(actorOf(ctx), id);
      });
      return { shares: out.result, userErrors: out.userErrors };
    },
  }),
}));

const VmStateEvent = builder.objectRef<VmStateChange>('VmStateEvent').implement({
  fields: (t) => ({
    vm: t.field({
      type: VmType,
      nullable: true,
      resolve: (e, _a, ctx) => ctx.services.vms.view(e.vmId),
    }),
    vmId: t.globalID({ resolve: (e) => ({ type: 'Vm', id: e.vmId }) }),
    state: t.field({ type: VmStateEnum, resolve: (e) => e.state }),
    previous: t.field({ type: VmStateEnum, resolve: (e) => e.previous }),
    reason: t.exposeString('reason'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

// Every subscription hears the same change object: a user with many subscriptions (tabs, clients)
// is asked about once per change, not once per subscription.
const visibility = new WeakMap<VmStateChange, Map<string, Promise<boolean>>>();

function visibleOnce(
  change: VmStateChange,
  actor: Actor,
  ask: () => Promise<boolean>,
): Promise<boolean> {
  let answers = visibility.get(change);
  if (!answers) {
    answers = new Map();
    visibility.set(change, answers);
  }
  let answer = answers.get(actor.userId);
  if (!answer) {
    answer = ask();
    answers.set(actor.userId, answer);
  }
  return answer;
}

builder.subscriptionFields((t) => ({
  vmStateChanged: t.field({
    type: VmStateEvent,
    authScopes: { signedIn: true },
    description:
      'Each change of state of the VMs you may see (or of one), as libvirt reports it. Losing your role stops delivery.',
    args: { vm: t.arg.globalID({ for: VmType, required: false }) },
    subscribe: (_r, args, ctx) => {
      const actor = actorOf(ctx);
      return ctx.services.events.follow('vmStateChanged', async function* (events) {
        for await (const change of events) {
          if (args.vm && args.vm.id !== change.vmId) continue;
          const visible = () => ctx.services.vms.visible(actor, change.vmId);
          if (await visibleOnce(change, actor, visible)) yield change;
        }
      });
    },
    resolve: (change) => change,
  }),
}));
