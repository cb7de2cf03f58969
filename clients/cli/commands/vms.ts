import { randomBytes } from 'node:crypto';
import { graphql } from '../../graphql/graphql.ts';
import { CliError } from '../api/cli-error.ts';
import { followed } from '../operations/wait.ts';
import { ago, bytes, parseCount, parseSize } from '../output/format.ts';
import { type Column, done, item, table } from '../output/output.ts';
import { readText } from '../resources/files.ts';
import { shortId } from '../resources/ids.ts';
import { allPages, PAGE } from '../resources/pages.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandContext, CommandSpec, Input } from './command.ts';
import { renameCommand } from './rename.ts';
import { shareCommands } from './shares.ts';

const VM = `id name description state stateReason vcpus maxVcpus memoryBytes maxMemoryBytes
  diskBytes diskUsedBytes mac ipAddress myRole createdAt updatedAt
  host { name } image { name } owner { email } overuse { limit suspendAt }`;
const VMS = graphql(`query Vms($text: String, $host: ID, $after: String, $first: Int!) {
  vms(filter: { text: $text, host: $host }, first: $first, after: $after) {
    edges { node { ${VM} } } pageInfo { hasNextPage endCursor } } }`);
const ONE = graphql(`query Vm($id: ID!) { node(id: $id) { ... on Vm { ${VM} } } }`);
const CREATE = graphql(`mutation VmCreate($input: VmCreateInput!) {
  vmCreate(input: $input) { vm { ${VM} } operation { id } userErrors { code field message } } }`);
const UPDATE = graphql(`mutation VmUpdate($input: VmUpdateInput!) {
  vmUpdate(input: $input) { vm { ${VM} } userErrors { code field message } } }`);
const SHUTDOWN = graphql(`mutation VmShutdown($id: ID!, $timeout: Int) {
  vmShutdown(input: { id: $id, timeoutSeconds: $timeout }) {
    operation { id } userErrors { code field message } } }`);
const RESIZE = graphql(`mutation VmResize($input: VmResizeInput!) {
  vmResize(input: $input) { appliedAt vm { ${VM} } userErrors { code field message } } }`);
const REMOVE = graphql(`mutation VmRemove($id: ID!) {
  vmRemove(input: { id: $id }) { userErrors { code field message } } }`);
const SAVE = graphql(`mutation VmSaveAsImage($input: VmSaveAsImageInput!) {
  vmSaveAsImage(input: $input) { image { id name } operation { id } userErrors { code field message } } }`);
const CLONE = graphql(`mutation VmClone($input: VmCloneInput!) {
  vmClone(input: $input) { vm { id name } sourcePaused operation { id } userErrors { code field message } } }`);
const MIGRATE = graphql(`mutation VmMigrate($input: VmMigrateInput!) {
  vmMigrate(input: $input) { operation { id } userErrors { code field message } } }`);
const SHARES = graphql(`query VmShares($id: ID!) {
  node(id: $id) { ... on Vm { shares { role user { email name } } } } }`);
const SHARE = graphql(`mutation VmShare($input: VmShareInput!) {
  vmShare(input: $input) { userErrors { code field message } } }`);
const UNSHARE = graphql(`mutation VmUnshare($input: VmUnshareInput!) {
  vmUnshare(input: $input) { userErrors { code field message } } }`);

// The quick state changes, one mutation each, the VM in their answer (as `result`).
const ACTIONS = {
  start: graphql(`mutation VmStart($id: ID!) {
    result: vmStart(input: { id: $id }) { vm { ${VM} } userErrors { code field message } } }`),
  poweroff: graphql(`mutation VmPowerOff($id: ID!) {
    result: vmPowerOff(input: { id: $id }) { vm { ${VM} } userErrors { code field message } } }`),
  reboot: graphql(`mutation VmReboot($id: ID!) {
    result: vmReboot(input: { id: $id }) { vm { ${VM} } userErrors { code field message } } }`),
  suspend: graphql(`mutation VmSuspend($id: ID!) {
    result: vmSuspend(input: { id: $id }) { vm { ${VM} } userErrors { code field message } } }`),
  resume: graphql(`mutation VmResume($id: ID!) {
    result: vmResume(input: { id: $id }) { vm { ${VM} } userErrors { code field message } } }`),
};

type VmRow = NonNullable<Awaited<ReturnType<typeof vmById>>>;

const nameOf = (key: string) => (_v: unknown, r: { readonly [k: string]: unknown }) =>
  (r[key] as { name?: string; email?: string } | null)?.[key === 'owner' ? 'email' : 'name'] ?? '-';

const COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'name', header: 'Name' },
  { key: 'state', header: 'State', state: true },
  { key: 'vcpus', header: 'vCPUs', align: 'right' },
  { key: 'memoryBytes', header: 'Memory', align: 'right', format: (v) => bytes(v as string) },
  { key: 'diskBytes', header: 'Disk', align: 'right', format: (v) => bytes(v as string) },
  { key: 'host', header: 'Host', format: nameOf('host') },
  { key: 'ipAddress', header: 'IP' },
  { key: 'image', header: 'Image', format: nameOf('image') },
  { key: 'owner', header: 'Owner', format: nameOf('owner') },
];

const DETAIL: readonly Column[] = [
  { key: 'id', header: 'ID' },
  { key: 'name', header: 'Name' },
  { key: 'description', header: 'Description' },
  { key: 'state', header: 'State', state: true },
  { key: 'stateReason', header: 'Why' },
  { key: 'vcpus', header: 'vCPUs', format: (v, r) => `${v} (up to ${r.maxVcpus} live)` },
  {
    key: 'memoryBytes',
    header: 'Memory',
    format: (v, r) => `${bytes(v as string)} (up to ${bytes(r.maxMemoryBytes as string)} live)`,
  },
  {
    key: 'diskBytes',
    header: 'Disk',
    format: (v, r) => `${bytes(v as string)}, ${bytes(r.diskUsedBytes as string | null)} used`,
  },
  { key: 'host', header: 'Host', format: nameOf('host') },
  { key: 'image', header: 'Image', format: nameOf('image') },
  { key: 'mac', header: 'MAC' },
  { key: 'ipAddress', header: 'IP' },
  { key: 'owner', header: 'Owner', format: nameOf('owner') },
  { key: 'myRole', header: 'Your role' },
  {
    key: 'overuse',
    header: 'Over quota',
    format: (v) => {
      const o = v as { limit: string; suspendAt: string } | null;
      return o ? `${o.limit}: suspended ${ago(o.suspendAt)}` : '-';
    },
  },
  { key: 'createdAt', header: 'Created', format: (v) => ago(v as string) },
];

async function vmById(ctx: CommandContext, id: string) {
  const { node } = await ctx.api().request(ONE, { id });
  return node && 'mac' in node ? node : null;
}

async function reported(ctx: CommandContext, id: string, message: (vm: VmRow) => string) {
  const vm = await vmById(ctx, id);
  if (!vm) throw new CliError('NOT_FOUND', 'the VM is gone');
  return done(message(vm), vm);
}

const VM_ARG = { name: 'vm', description: 'Name or id', complete: 'vm' } as const;

// SSH keys as given: a public key's text, or a file holding one or more.
async function sshKeys(input: Input): Promise<string[]> {
  const keys: string[] = [];
  for (const given of input.options('ssh-key')) {
    const text = /^(ssh|ecdsa|sk)-/.test(given) ? given : await readText(given);
    keys.push(
      ...text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  return keys;
}

function count(input: Input, name: string): number | null {
  const v = input.option(name);
  return v === undefined ? null : parseCount(v, `--${name}`);
}

const size = (text: string | undefined) => (text === undefined ? null : String(parseSize(text)));

function action(verb: keyof typeof ACTIONS, summary: string, past: string): CommandSpec {
  return {
    words: ['vm', verb],
    summary,
    args: [VM_ARG],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const out = await api.mutate(ACTIONS[verb], { id }, 'result');
      const vm = out.vm as VmRow;
      return done(`${past} ${vm.name}: ${vm.state}`, vm);
    },
  };
}

/** The commands about VMs: create, run, change, copy, move, share, remove. */
export const vmCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'ls'],
    aliases: ['list'],
    summary: 'List the VMs you may see; the query matches name or description.',
    args: [{ name: 'query', description: 'Text to look for', optional: true }],
    options: [
      { name: 'host', value: 'host', description: 'Only those on this host', complete: 'host' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const text = input.optionalArg('query') ?? null;
      const hostName = input.option('host');
      const host = hostName ? await resolveRef(api, 'host', hostName) : null;
      const vms = await allPages(
        async (after) => (await api.request(VMS, { text, host, after, first: PAGE })).vms,
      );
      return table(COLUMNS, vms);
    },
  },
  {
    words: ['vm', 'show'],
    summary: 'Show a VM.',
    args: [VM_ARG],
    async run(ctx, input) {
      const vm = await vmById(ctx, await resolveRef(ctx.api(), 'vm', input.arg('vm')));
      if (!vm) throw new CliError('NOT_FOUND', `no VM ${input.arg('vm')}`);
      return item(DETAIL, vm);
    },
  },
  {
    words: ['vm', 'add'],
    aliases: ['create'],
    summary:
      'Create a VM from an image and start it (--no-start to leave it off), waiting until it is built.',
    args: [
      { name: 'image', description: 'Name or id', complete: 'image' },
      { name: 'mem', description: 'Memory: 512M (the default), 2G...', optional: true },
    ],
    options: [
      { name: 'name', value: 'name', description: 'What to call it (the image name and a suffix)' },
      { name: 'vcpus', value: 'n', description: 'Virtual CPUs (1)' },
      { name: 'disk', value: 'size', description: 'Disk size (the image’s)' },
      { name: 'max-vcpus', value: 'n', description: 'vCPUs it may grow to live' },
      { name: 'max-mem', value: 'size', description: 'Memory it may grow to live' },
      {
        name: 'ssh-key',
        value: 'key|file',
        multiple: true,
        description: 'A public key for the guest (repeatable)',
        complete: 'file',
      },
      { name: 'user-data', value: 'file', description: 'cloud-init user data', complete: 'file' },
      { name: 'host', value: 'host', description: 'Where to place it (admins)', complete: 'host' },
      { name: 'description', value: 'text', description: 'What it is for' },
      { name: 'no-start', description: 'Leave it shut off' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const imageTyped = input.arg('image');
      const image = await resolveRef(api, 'image', imageTyped);
      const name =
        input.option('name') ??
        `${imageTyped.replace(/[^A-Za-z0-9-]/g, '-')}-${randomBytes(2).toString('hex')}`;
      const userData = input.option('user-data');
      const hostTyped = input.option('host');
      const keys = await sshKeys(input);
      const out = await api.mutate(
        CREATE,
        {
          input: {
            image,
            name,
            memoryBytes: String(parseSize(input.optionalArg('mem') ?? '512M')),
            vcpus: count(input, 'vcpus') ?? 1,
            diskBytes: size(input.option('disk')),
            maxVcpus: count(input, 'max-vcpus'),
            maxMemoryBytes: size(input.option('max-mem')),
            sshKeys: keys.length > 0 ? keys : null,
            userData: userData ? await readText(userData) : null,
            host: hostTyped ? await resolveRef(api, 'host', hostTyped) : null,
            description: input.option('description') ?? null,
            start: !input.flag('no-start'),
          },
        },
        'vmCreate',
      );
      const vm = out.vm as VmRow;
      return followed(ctx, out.operation, `creating ${name}`, () =>
        reported(
          ctx,
          vm.id,
          (v) => `created VM ${v.name} (${shortId(v.id)}) on ${v.host?.name ?? '-'}: ${v.state}`,
        ),
      );
    },
  },
  renameCommand('vm', async (api, input) => {
    const out = await api.mutate(UPDATE, { input }, 'vmUpdate');
    return out.vm as VmRow;
  }),

  action('start', 'Start a VM.', 'started'),
  {
    words: ['vm', 'stop'],
    aliases: ['shutdown'],
    summary: 'Ask the guest to power off (ACPI); it is forced off after --timeout seconds.',
    args: [VM_ARG],
    options: [{ name: 'timeout', value: 'seconds', description: 'How long the guest gets' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const out = await api.mutate(
        SHUTDOWN,
        { id, timeout: count(input, 'timeout') },
        'vmShutdown',
      );
      return followed(ctx, out.operation, `shutting down ${input.arg('vm')}`, () =>
        reported(ctx, id, (v) => `stopped ${v.name}: ${v.state}`),
      );
    },
  },
  action('poweroff', 'Power a VM off at once, as pulling the plug.', 'powered off'),
  action('reboot', 'Reboot a VM (ACPI).', 'rebooted'),
  action('suspend', 'Pause a running VM in memory.', 'suspended'),
  action('resume', 'Resume a suspended VM.', 'resumed'),
  {
    words: ['vm', 'resize'],
    summary:
      'Change vCPUs and memory: live within the ceilings set at creation, otherwise at the next boot.',
    args: [VM_ARG],
    options: [
      { name: 'vcpus', value: 'n', description: 'Virtual CPUs' },
      { name: 'mem', value: 'size', description: 'Memory' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const vcpus = count(input, 'vcpus');
      const memoryBytes = size(input.option('mem'));
      if (vcpus === null && memoryBytes === null)
        throw new CliError('USAGE', 'give --vcpus or --mem');
      const out = await api.mutate(RESIZE, { input: { id, vcpus, memoryBytes } }, 'vmResize');
      const vm = out.vm as VmRow;
      const when = out.appliedAt === 'LIVE' ? 'now' : 'at the next boot';
      return done(`${vm.name} has ${vm.vcpus} vCPUs and ${bytes(vm.memoryBytes)} ${when}`, {
        ...vm,
        appliedAt: out.appliedAt,
      });
    },
  },
  {
    words: ['vm', 'rm'],
    aliases: ['remove'],
    summary: 'Destroy a VM and delete its disk, seed, snapshots and shares.',
    args: [VM_ARG],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      await api.mutate(REMOVE, { id }, 'vmRemove');
      return done(`removed VM ${input.arg('vm')}`, { id });
    },
  },
  {
    words: ['vm', 'save'],
    summary: 'Make a new image of your own from a VM’s disk (--shutdown stops a running VM first).',
    args: [
      VM_ARG,
      { name: 'imgName', description: 'The image’s name' },
      { name: 'imgDesc', description: 'What it is', optional: true, variadic: true },
    ],
    options: [{ name: 'shutdown', description: 'Shut the VM down first if it runs' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const name = input.arg('imgName');
      const out = await api.mutate(
        SAVE,
        {
          input: {
            id,
            name,
            description: input.rest('imgDesc').join(' ') || null,
            shutdown: input.flag('shutdown'),
          },
        },
        'vmSaveAsImage',
      );
      const image = out.image as { id: string; name: string };
      return followed(ctx, out.operation, `saving ${name}`, () =>
        done(`saved ${input.arg('vm')} as image ${name} (${shortId(image.id)})`, image),
      );
    },
  },
  {
    words: ['vm', 'clone'],
    summary: 'Copy a VM on its host; the source must be off, or give --pause-source.',
    args: [VM_ARG, { name: 'name', description: 'The copy’s name' }],
    options: [
      { name: 'pause-source', description: 'Pause a running source while its disk is copied' },
      { name: 'start', description: 'Start the copy' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const name = input.arg('name');
      const out = await api.mutate(
        CLONE,
        {
          input: { id, name, pauseSource: input.flag('pause-source'), start: input.flag('start') },
        },
        'vmClone',
      );
      const vm = out.vm as { id: string };
      return followed(ctx, out.operation, `cloning into ${name}`, () =>
        reported(
          ctx,
          vm.id,
          (v) => `cloned ${input.arg('vm')} into ${v.name} (${shortId(v.id)}): ${v.state}`,
        ),
      );
    },
  },
  {
    words: ['vm', 'migrate'],
    summary:
      'Move a running VM to another host, live, disk included, with its progress; Ctrl-C stops watching, `operation cancel` stops it.',
    args: [VM_ARG],
    options: [
      {
        name: 'to',
        value: 'host',
        description: 'Where (the scheduler picks without it)',
        complete: 'host',
      },
      { name: 'bandwidth', value: 'MiB/s', description: 'A cap on the copy' },
      { name: 'max-downtime', value: 'ms', description: 'The longest pause allowed at the switch' },
      { name: 'auto-converge', description: 'Slow the guest down if it dirties memory too fast' },
      { name: 'post-copy', description: 'Switch to post-copy if it does not converge' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const to = input.option('to');
      const out = await api.mutate(
        MIGRATE,
        {
          input: {
            id,
            host: to ? await resolveRef(api, 'host', to) : null,
            bandwidthMiBs: count(input, 'bandwidth'),
            maxDowntimeMs: count(input, 'max-downtime'),
            autoConverge: input.flag('auto-converge'),
            postCopy: input.flag('post-copy'),
          },
        },
        'vmMigrate',
      );
      return followed(ctx, out.operation, `migrating ${input.arg('vm')}`, () =>
        reported(ctx, id, (v) => `${v.name} runs on ${v.host?.name ?? '-'}`),
      );
    },
  },
  ...shareCommands('vm', {
    list: async (api, id) => {
      const { node } = await api.request(SHARES, { id });
      return node && 'shares' in node ? node.shares : [];
    },
    share: async (api, input) => void (await api.mutate(SHARE, { input }, 'vmShare')),
    unshare: async (api, input) => void (await api.mutate(UNSHARE, { input }, 'vmUnshare')),
  }),
];
