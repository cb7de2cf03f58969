import { z } from 'zod';
import type { HostCredentials } from '../drivers/credentials.ts';
import type { HostFacts } from '../drivers/session.ts';
import { ACCELERATIONS, HOST_STATES, type Host } from '../entities/host.ts';
import type { HostId } from '../entities/ids.ts';
import type { Operation } from '../entities/operation.ts';
import type { HostAllocation } from '../services/hosts/host-allocation.ts';
import { HostView } from '../services/hosts/host-view.ts';
import type { HostMetricsSample, HostStateChange } from '../services/hosts/types.ts';
import { capacityOf } from '../services/vms/scheduler.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { OperationType } from './operation.ts';
import { UserError, type UserErrorShape } from './user-errors.ts';

const HostStateEnum = builder.enumType('HostState', {
  description: 'ONLINE and OFFLINE follow the connection; an admin sets DISABLED and MAINTENANCE.',
  values: HOST_STATES,
});

const AccelerationEnum = builder.enumType('Acceleration', {
  description:
    "How a host runs guests: AUTO is KVM where the host offers it, else TCG (QEMU's emulator, much slower).",
  values: ACCELERATIONS,
});

const HostFactsType = builder.objectRef<HostFacts>('HostFacts').implement({
  description: "What the host's libvirtd reported when the controller last connected.",
  fields: (t) => ({
    hostname: t.exposeString('hostname'),
    arch: t.exposeString('arch'),
    cpuModel: t.exposeString('cpuModel'),
    cpus: t.exposeInt('cpus'),
    sockets: t.exposeInt('sockets'),
    cores: t.exposeInt('cores', { description: 'Cores per socket.' }),
    threads: t.exposeInt('threads', { description: 'Threads per core.' }),
    memoryBytes: t.exposeFloat('memoryBytes'),
    hypervisor: t.exposeString('hypervisor'),
    libvirtVersion: t.exposeString('libvirtVersion'),
    kvm: t.exposeBoolean('kvm', { description: 'Hardware-accelerated guests are available.' }),
    storageCapacityBytes: t.float({ resolve: (f) => f.storage.capacityBytes }),
    storageAvailableBytes: t.float({ resolve: (f) => f.storage.availableBytes }),
  }),
});

const HostAllocationType = builder
  .objectRef<HostAllocation & { readonly capacity: { vcpus: number; memoryBytes: bigint } | null }>(
    'HostAllocation',
  )
  .implement({
    description:
      "What the VMs placed on the host hold of it, running or not, at their ceilings (maxVcpus, maxMemoryBytes): what the scheduler places against. The capacities are the host's CPUs and memory under its overcommit, null until its facts are known.",
    fields: (t) => ({
      vms: t.exposeInt('vms'),
      vcpus: t.exposeInt('vcpus'),
      memoryBytes: t.expose('memoryBytes', { type: 'BigInt' }),
      vcpuCapacity: t.int({
        nullable: true,
        resolve: ({ capacity }) => capacity?.vcpus ?? null,
      }),
      memoryCapacityBytes: t.field({
        type: 'BigInt',
        nullable: true,
        resolve: ({ capacity }) => capacity?.memoryBytes ?? null,
      }),
    }),
  });

/** HostType is a hypervisor host: every signed-in user may see it, admins change it. */
export const HostType = builder.node(HostView, {
  name: 'Host',
  id: { resolve: (h) => h.id },
  authScopes: { signedIn: true },
  loadOne: (id, ctx) => ctx.services.hosts.view(id as HostId),
  fields: (t) => ({
    name: t.exposeString('name'),
    uri: t.exposeString('uri'),
    driver: t.exposeString('driver'),
    state: t.field({ type: HostStateEnum, resolve: (h) => h.state }),
    enabled: t.exposeBoolean('enabled'),
    maintenance: t.exposeBoolean('maintenance'),
    lastError: t.exposeString('lastError', { nullable: true }),
    facts: t.field({ type: HostFactsType, nullable: true, resolve: (h) => h.facts ?? null }),
    cpuOvercommit: t.exposeFloat('cpuOvercommit'),
    memoryOvercommit: t.exposeFloat('memoryOvercommit'),
    acceleration: t.field({ type: AccelerationEnum, resolve: (h) => h.acceleration }),
    sharedStorage: t.exposeString('sharedStorage', {
      nullable: true,
      description:
        'The shared filesystem this host mounts at the Kumo pool path; hosts naming the same one move VMs without copying disks.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', nullable: true }),
    allocation: t.field({
      type: HostAllocationType,
      // How full each host is says how busy other tenants are.
      authScopes: { admin: true },
      description: 'What VMs hold of the host. Admins only.',
      resolve: async (h, _a, ctx) => ({
        ...(await ctx.services.hosts.allocation(h.id as HostId)),
        capacity: h.facts
          ? capacityOf({
              cpus: h.facts.cpus,
              memoryBytes: BigInt(h.facts.memoryBytes),
              cpuOvercommit: h.cpuOvercommit,
              memoryOvercommit: h.memoryOvercommit,
            })
          : null,
      }),
    }),
  }),
});

const LocalHypervisor = builder
  .objectRef<{ uri: string; hostname: string }>('LocalHypervisor')
  .implement({
    description:
      "A libvirtd on the controller's own machine, not yet a host: add it with hostAdd and this URI.",
    fields: (t) => ({ uri: t.exposeString('uri'), hostname: t.exposeString('hostname') }),
  });

builder.queryFields((t) => ({
  localHypervisor: t.field({
    type: LocalHypervisor,
    nullable: true,
    authScopes: { admin: true },
    description:
      "The libvirtd answering on this machine's unix socket, offered as a host; null when none answers or it is a host already.",
    resolve: (_r, _a, ctx) =>
      ctx.services.hosts.localOffer(ctx.actor as NonNullable<typeof ctx.actor>),
  }),
  hosts: t.connection({
    type: HostType,
    authScopes: { signedIn: true },
    description: 'Hypervisor hosts by name.',
    resolve: async (_r, args, ctx) => {
      const after = decodeCursor(args.after);
      const { hosts, hasNextPage } = await ctx.services.hosts.list({
        first: pageSize(args),
        ...(after ? { after } : {}),
      });
      return connectionOf(hosts, (h) => h.name, hasNextPage);
    },
  }),
}));

const TlsCredentialsInput = builder.inputType('TlsCredentialsInput', {
  description:
    'PEM texts: the CA that signed the host, and the controller client certificate and key it accepts.',
  fields: (t) => ({
    caCertificate: t.string({ validate: z.string().max(65536) }),
    clientCertificate: t.string({ validate: z.string().max(65536) }),
    clientKey: t.string({ validate: z.string().max(65536) }),
  }),
});

const SshCredentialsInput = builder.inputType('SshCredentialsInput', {
  fields: (t) => ({
    user: t.string({ validate: z.string().min(1).max(64) }),
    privateKey: t.string({
      validate: z.string().max(65536),
      description: 'An OpenSSH or PEM private key, unencrypted.',
    }),
    hostKeyFingerprint: t.string({
      required: false,
      validate: z.string().max(128),
      description:
        'The SHA256:... fingerprint to pin. Leave it out on first contact: the host key offered is then shown for you to confirm.',
    }),
  }),
});

const HostCredentialsInput = builder.inputType('HostCredentialsInput', {
  isOneOf: true,
  description: 'How the controller authenticates to the host: exactly one of these.',
  fields: (t) => ({
    tls: t.field({ type: TlsCredentialsInput, required: false }),
    tlsPkiPath: t.string({
      required: false,
      description: "A directory on the controller in libvirt's pkipath layout.",
    }),
    ssh: t.field({ type: SshCredentialsInput, required: false }),
  }),
});

type CredentialsArg = {
  tls?: { caCertificate: string; clientCertificate: string; clientKey: string } | null;
  tlsPkiPath?: string | null;
  ssh?: { user: string; privateKey: string; hostKeyFingerprint?: string | null } | null;
};

function toCredentials(c: CredentialsArg | null | undefined): HostCredentials {
  if (c?.tls)
    return {
      kind: 'tls',
      ca: c.tls.caCertificate,
      cert: c.tls.clientCertificate,
      key: c.tls.clientKey,
    };
  if (c?.tlsPkiPath) return { kind: 'tls-pki', path: c.tlsPkiPath };
  if (c?.ssh) {
    const { user, privateKey, hostKeyFingerprint } = c.ssh;
    return {
      kind: 'ssh',
      user,
      privateKey,
      ...(hostKeyFingerprint ? { hostKey: hostKeyFingerprint } : {}),
    };
  }
  return { kind: 'none' };
}

const HostPayload = builder
  .objectRef<{ host: Host | null; userErrors: UserErrorShape[] }>('HostPayload')
  .implement({
    fields: (t) => ({
      host: t.field({
        type: HostType,
        nullable: true,
        resolve: (p) => p.host && HostView.of(p.host),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const HostRemovePayload = builder
  .objectRef<{
    removedHostId: string | null;
    operation: Operation | null;
    userErrors: UserErrorShape[];
  }>('HostRemovePayload')
  .implement({
    fields: (t) => ({
      operation: t.field({
        type: OperationType,
        nullable: true,
        description: 'The evacuation that removes the host once its VMs have moved away.',
        resolve: (p) => p.operation,
      }),
      removedHostId: t.globalID({
        nullable: true,
        resolve: (p) => (p.removedHostId ? { type: 'Host', id: p.removedHostId } : null),
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const HostAddInput = builder.inputType('HostAddInput', {
  fields: (t) => ({
    name: t.string({ validate: z.string().max(64) }),
    uri: t.string({
      validate: z.string().max(1024),
      description: 'A libvirt URI: qemu+tls://host/system, qemu+ssh://host/system, qemu:///system.',
    }),
    credentials: t.field({ type: HostCredentialsInput, required: false }),
    acceleration: t.field({ type: AccelerationEnum, required: false }),
  }),
});

const HostUpdateInput = builder.inputType('HostUpdateInput', {
  fields: (t) => ({
    id: t.globalID({ for: HostType }),
    name: t.string({ required: false, validate: z.string().max(64) }),
    enabled: t.boolean({ required: false }),
    maintenance: t.boolean({ required: false }),
    cpuOvercommit: t.float({ required: false }),
    memoryOvercommit: t.float({ required: false }),
    acceleration: t.field({
      type: AccelerationEnum,
      required: false,
      description: 'Taken by VMs when they are next defined (created, resized, started by Kumo).',
    }),
    sharedStorage: t.string({
      required: false,
      validate: z.string().max(64),
      description:
        'Declare the shared filesystem (NFS, CephFS...) the host mounts at the Kumo pool path, by a name of your choice; empty for local storage. Only while no VM lives there.',
    }),
  }),
});

const HostRemoveInput = builder.inputType('HostRemoveInput', {
  fields: (t) => ({
    id: t.globalID({ for: HostType }),
    evacuate: t.boolean({
      defaultValue: false,
      description:
        'Move its running VMs away live first, then remove it (refused while VMs that are not running have disks there).',
    }),
  }),
});

const HostMaintenanceInput = builder.inputType('HostMaintenanceInput', {
  fields: (t) => ({
    id: t.globalID({ for: HostType }),
    evacuate: t.boolean({
      defaultValue: false,
      description:
        'Move its running VMs away live (a few at a time); it is MAINTENANCE once empty.',
    }),
  }),
});

const HostMaintenancePayload = builder
  .objectRef<{ host: Host | null; operation: Operation | null; userErrors: UserErrorShape[] }>(
    'HostMaintenancePayload',
  )
  .implement({
    fields: (t) => ({
      host: t.field({
        type: HostType,
        nullable: true,
        resolve: (p) => p.host && HostView.of(p.host),
      }),
      operation: t.field({
        type: OperationType,
        nullable: true,
        description: 'The evacuation, when VMs had to move.',
        resolve: (p) => p.operation,
      }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

builder.mutationFields((t) => ({
  hostAdd: t.field({
    type: HostPayload,
    authScopes: { admin: true },
    description:
      'Add a hypervisor host by its URI: the controller connects once, records its facts, then keeps it connected.',
    args: { input: t.arg({ type: HostAddInput }) },
    resolve: async (_r, { input }, ctx) => {
      const out = await audited(ctx, 'hostAdd', { type: 'HOST', idOf: (h: Host) => h.id }, () =>
        ctx.services.hosts.add(ctx.actor as NonNullable<typeof ctx.actor>, {
          name: input.name,
          uri: input.uri,
          credentials: toCredentials(input.credentials),
          ...(input.acceleration ? { acceleration: input.acceleration } : {}),
        }),
      );
      return { host: out.result, userErrors: out.userErrors };
    },
  }),
  hostUpdate: t.field({
    type: HostPayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: HostUpdateInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as HostId;
      const out = await audited(ctx, 'hostUpdate', { type: 'HOST', id }, () =>
        ctx.services.hosts.update(ctx.actor as NonNullable<typeof ctx.actor>, id, {
          ...(input.name != null ? { name: input.name } : {}),
          ...(input.enabled != null ? { enabled: input.enabled } : {}),
          ...(input.maintenance != null ? { maintenance: input.maintenance } : {}),
          ...(input.cpuOvercommit != null ? { cpuOvercommit: input.cpuOvercommit } : {}),
          ...(input.memoryOvercommit != null ? { memoryOvercommit: input.memoryOvercommit } : {}),
          ...(input.acceleration ? { acceleration: input.acceleration } : {}),
          ...(input.sharedStorage != null ? { sharedStorage: input.sharedStorage } : {}),
        }),
      );
      return { host: out.result, userErrors: out.userErrors };
    },
  }),
  hostRemove: t.field({
    type: HostRemovePayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: HostRemoveInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as HostId;
      const actor = ctx.actor as NonNullable<typeof ctx.actor>;
      const out = await audited(ctx, 'hostRemove', { type: 'HOST', id }, async () =>
        input.evacuate
          ? (await ctx.services.evacuations.evacuate(actor, id, 'REMOVE')).operation
          : ctx.services.hosts.remove(actor, id).then(() => null),
      );
      const operation = out.result ?? null;
      return {
        removedHostId: out.userErrors.length === 0 && !operation ? id : null,
        operation,
        userErrors: out.userErrors,
      };
    },
  }),
  hostMaintenance: t.field({
    type: HostMaintenancePayload,
    authScopes: { admin: true },
    description:
      'Put a host in maintenance: it takes no new VMs. With evacuate, its running VMs move away live first. Leave maintenance with hostUpdate.',
    args: { input: t.arg({ type: HostMaintenanceInput }) },
    resolve: async (_r, { input }, ctx) => {
      const id = input.id.id as HostId;
      const out = await audited(ctx, 'hostMaintenance', { type: 'HOST', id }, () =>
        input.evacuate
          ? ctx.services.evacuations.evacuate(
              ctx.actor as NonNullable<typeof ctx.actor>,
              id,
              'MAINTENANCE',
            )
          : ctx.services.hosts
              .update(ctx.actor as NonNullable<typeof ctx.actor>, id, { maintenance: true })
              .then((host) => ({ host, operation: null })),
      );
      return {
        host: out.result?.host ?? null,
        operation: out.result?.operation ?? null,
        userErrors: out.userErrors,
      };
    },
  }),
}));

const HostStateEvent = builder.objectRef<HostStateChange>('HostStateEvent').implement({
  fields: (t) => ({
    host: t.field({
      type: HostType,
      nullable: true,
      resolve: (e, _a, ctx) => ctx.services.hosts.view(e.hostId as HostId),
    }),
    state: t.field({ type: HostStateEnum, resolve: (e) => e.state }),
    previous: t.field({ type: HostStateEnum, resolve: (e) => e.previous }),
    reason: t.exposeString('reason'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const HostMetricsEvent = builder.objectRef<HostMetricsSample>('HostMetrics').implement({
  description: "A host's CPU and memory use at one moment (admins only).",
  fields: (t) => ({
    host: t.field({
      type: HostType,
      nullable: true,
      resolve: (s, _a, ctx) => ctx.services.hosts.view(s.hostId as HostId),
    }),
    at: t.field({ type: 'DateTime', resolve: (s) => new Date(s.metrics.at) }),
    cpuUsage: t.float({
      description: 'Busy fraction of all CPUs (0 to 1) over the interval.',
      resolve: (s) => s.metrics.cpu.usage,
    }),
    memoryTotalBytes: t.float({ resolve: (s) => s.metrics.memory.totalBytes }),
    memoryUsedBytes: t.float({
      description: 'Total less free, buffers and page cache.',
      resolve: (s) => s.metrics.memory.usedBytes,
    }),
    memoryFreeBytes: t.float({ resolve: (s) => s.metrics.memory.freeBytes }),
  }),
});

builder.subscriptionFields((t) => ({
  hostMetrics: t.field({
    type: HostMetricsEvent,
    authScopes: { admin: true },
    description: 'CPU and memory use of every connected host (or one), every intervalSeconds.',
    args: {
      host: t.arg.globalID({ for: HostType, required: false }),
      intervalSeconds: t.arg.int({
        required: false,
        defaultValue: 5,
        validate: z.number().int().min(1).max(300),
      }),
    },
    subscribe: (_r, args, ctx) =>
      ctx.services.hosts.metrics(
        ctx.actor as NonNullable<typeof ctx.actor>,
        args.host ? [args.host.id as HostId] : null,
        (args.intervalSeconds ?? 5) * 1000,
      ),
    resolve: (sample) => sample,
  }),
  hostStateChanged: t.field({
    type: HostStateEvent,
    authScopes: { signedIn: true },
    description: 'Each change of a host state (one host, or all), as it happens.',
    args: { host: t.arg.globalID({ for: HostType, required: false }) },
    subscribe: (_r, args, ctx) =>
      ctx.services.events.follow('hostStateChanged', async function* (events) {
        for await (const change of events) {
          if (!args.host || args.host.id === change.hostId) yield change;
        }
      }),
    resolve: (change) => change,
  }),
}));
