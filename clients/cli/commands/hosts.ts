import { join } from 'node:path';
import { graphql, type VariablesOf } from '../../graphql/graphql.ts';
import { userError } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { followed } from '../operations/wait.ts';
import { ago, bytes } from '../output/format.ts';
import { type Column, done, item, table } from '../output/output.ts';
import { readText } from '../resources/files.ts';
import { shortId } from '../resources/ids.ts';
import { allPages, PAGE } from '../resources/pages.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandContext, CommandSpec, Input } from './command.ts';

const HOST = `id name uri driver state enabled maintenance acceleration cpuOvercommit
  memoryOvercommit sharedStorage lastSeenAt lastError createdAt
  facts { hostname arch cpuModel cpus sockets cores threads memoryBytes kvm hypervisor
    libvirtVersion storageCapacityBytes storageAvailableBytes }`;
const HOSTS = graphql(`query Hosts($after: String, $first: Int!) {
  hosts(first: $first, after: $after) { edges { node { ${HOST} } } pageInfo { hasNextPage endCursor } } }`);
const ONE = graphql(`query Host($id: ID!) { node(id: $id) { ... on Host { ${HOST} } } }`);
const ADD = graphql(`mutation HostAdd($input: HostAddInput!) {
  hostAdd(input: $input) { host { ${HOST} } userErrors { code field message offeredHostKey } } }`);
const UPDATE = graphql(`mutation HostUpdate($input: HostUpdateInput!) {
  hostUpdate(input: $input) { host { ${HOST} } userErrors { code field message } } }`);
const MAINTENANCE = graphql(`mutation HostMaintenance($id: ID!, $evacuate: Boolean!) {
  hostMaintenance(input: { id: $id, evacuate: $evacuate }) {
    host { id name } operation { id } userErrors { code field message } } }`);
const REMOVE = graphql(`mutation HostRemove($id: ID!, $evacuate: Boolean!) {
  hostRemove(input: { id: $id, evacuate: $evacuate }) {
    removedHostId operation { id } userErrors { code field message } } }`);

type HostRow = NonNullable<Awaited<ReturnType<typeof hostById>>>;

const COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'name', header: 'Name' },
  { key: 'state', header: 'State', state: true },
  { key: 'uri', header: 'URI' },
  {
    key: 'facts',
    header: 'CPUs',
    align: 'right',
    format: (_v, r) => String(facts(r)?.cpus ?? '-'),
  },
  {
    key: 'facts',
    header: 'Memory',
    align: 'right',
    format: (_v, r) => bytes(facts(r)?.memoryBytes),
  },
  {
    key: 'facts',
    header: 'Storage free',
    align: 'right',
    format: (_v, r) => bytes(facts(r)?.storageAvailableBytes),
  },
  { key: 'lastSeenAt', header: 'Seen', format: (v) => ago(v as string | null) },
];

const DETAIL: readonly Column[] = [
  { key: 'id', header: 'ID' },
  { key: 'name', header: 'Name' },
  { key: 'state', header: 'State', state: true },
  { key: 'uri', header: 'URI' },
  { key: 'driver', header: 'Driver' },
  { key: 'acceleration', header: 'Acceleration' },
  { key: 'cpuOvercommit', header: 'CPU overcommit' },
  { key: 'memoryOvercommit', header: 'Memory overcommit' },
  { key: 'sharedStorage', header: 'Shared storage' },
  { key: 'facts', header: 'Hostname', format: (_v, r) => facts(r)?.hostname ?? '-' },
  {
    key: 'facts',
    header: 'CPU',
    format: (_v, r) => {
      const f = facts(r);
      return f
        ? `${f.cpus} x ${f.cpuModel} (${f.sockets} sockets, ${f.cores} cores, ${f.threads} threads), ${f.arch}`
        : '-';
    },
  },
  { key: 'facts', header: 'Memory', format: (_v, r) => bytes(facts(r)?.memoryBytes) },
  {
    key: 'facts',
    header: 'Storage',
    format: (_v, r) => {
      const f = facts(r);
      return f ? `${bytes(f.storageAvailableBytes)} free of ${bytes(f.storageCapacityBytes)}` : '-';
    },
  },
  {
    key: 'facts',
    header: 'Hypervisor',
    format: (_v, r) => {
      const f = facts(r);
      return f ? `${f.hypervisor}, libvirt ${f.libvirtVersion}, ${f.kvm ? 'KVM' : 'no KVM'}` : '-';
    },
  },
  { key: 'lastSeenAt', header: 'Last seen', format: (v) => ago(v as string | null) },
  { key: 'lastError', header: 'Last error' },
];

// A row's facts, as the table columns read them.
function facts(row: { readonly [k: string]: unknown }): HostRow['facts'] {
  return (row.facts ?? null) as HostRow['facts'];
}

async function hostById(ctx: CommandContext, id: string) {
  const { node } = await ctx.api().request(ONE, { id });
  return node && 'uri' in node ? node : null;
}

async function show(ctx: CommandContext, id: string) {
  const host = await hostById(ctx, id);
  if (!host) throw new CliError('NOT_FOUND', 'the host is gone');
  return item(DETAIL, host);
}

const ACCELERATIONS = ['AUTO', 'KVM', 'TCG'] as const;
type Credentials = NonNullable<VariablesOf<typeof ADD>['input']['credentials']>;

// How the controller will sign in to the host, from the options given.
async function credentialsOf(input: Input): Promise<Credentials | null> {
  const sshKey = input.option('ssh-key');
  const tlsDir = input.option('tls-dir');
  const pkiPath = input.option('pki-path');
  if ([sshKey, tlsDir, pkiPath].filter(Boolean).length > 1)
    throw new CliError('USAGE', 'give one of --ssh-key, --tls-dir or --pki-path');
  if (sshKey)
    return {
      ssh: {
        user: input.option('ssh-user') ?? 'root',
        privateKey: await readText(sshKey),
        hostKeyFingerprint: input.option('host-key') ?? null,
      },
    };
  if (tlsDir)
    return {
      tls: {
        caCertificate: await readText(join(tlsDir, 'cacert.pem')),
        clientCertificate: await readText(join(tlsDir, 'clientcert.pem')),
        clientKey: await readText(join(tlsDir, 'clientkey.pem')),
      },
    };
  if (pkiPath) return { tlsPkiPath: pkiPath };
  return null;
}

// The admin confirms a host's SSH key as ssh does on first contact; scripts pass --host-key.
async function confirmHostKey(
  ctx: CommandContext,
  name: string,
  offered: string,
): Promise<boolean> {
  ctx.terminal.err(
    `The host ${name} offered the SSH host key ${offered}.\nCheck it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), or pass --host-key.\n`,
  );
  const answer = await ctx.terminal.ask('Trust this key and add the host? [y/N] ');
  return /^y(es)?$/i.test(answer.trim());
}

/** The commands about hypervisor hosts (admins only on the server). */
export const hostCommands: readonly CommandSpec[] = [
  {
    words: ['host', 'ls'],
    aliases: ['list'],
    summary: 'List hosts; the query matches name or URI.',
    args: [{ name: 'query', description: 'Text to look for', optional: true }],
    async run(ctx, input) {
      const api = ctx.api();
      const query = input.optionalArg('query')?.toLowerCase();
      const hosts = await allPages(
        async (after) => (await api.request(HOSTS, { after, first: PAGE })).hosts,
      );
      return table(
        COLUMNS,
        hosts.filter((h) => !query || `${h.name} ${h.uri}`.toLowerCase().includes(query)),
      );
    },
  },
  {
    words: ['host', 'show'],
    aliases: ['facts'],
    summary: 'Show a host: its state, settings and the facts libvirtd reported.',
    args: [{ name: 'host', description: 'Name or id', complete: 'host' }],
    async run(ctx, input) {
      return show(ctx, await resolveRef(ctx.api(), 'host', input.arg('host')));
    },
  },
  {
    words: ['host', 'add'],
    summary:
      'Add a host by its libvirt URI: qemu+tls://addr/system with --tls-dir (or --pki-path on the controller), or qemu+ssh://addr/system with --ssh-key; an SSH host key not given with --host-key is shown for you to confirm.',
    args: [
      { name: 'name', description: 'What to call it' },
      { name: 'uri', description: 'qemu+tls://... or qemu+ssh://...' },
    ],
    options: [
      {
        name: 'ssh-key',
        value: 'file',
        description: 'Private key to sign in over SSH with',
        complete: 'file',
      },
      { name: 'ssh-user', value: 'user', description: 'SSH user (root)' },
      { name: 'host-key', value: 'SHA256:...', description: 'The host key fingerprint to pin' },
      {
        name: 'tls-dir',
        value: 'dir',
        description: 'A directory with cacert.pem, clientcert.pem, clientkey.pem',
        complete: 'file',
      },
      { name: 'pki-path', value: 'dir', description: 'Such a directory on the controller' },
      { name: 'acceleration', value: 'AUTO|KVM|TCG', description: 'How guests run (AUTO)' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const acceleration = input.option('acceleration')?.toUpperCase();
      if (acceleration && !ACCELERATIONS.includes(acceleration as (typeof ACCELERATIONS)[number]))
        throw new CliError('USAGE', `--acceleration is one of ${ACCELERATIONS.join(', ')}`);
      const credentials = await credentialsOf(input);
      const add = (creds: Credentials | null) =>
        api.request(ADD, {
          input: {
            name: input.arg('name'),
            uri: input.arg('uri'),
            credentials: creds,
            acceleration: (acceleration ?? null) as (typeof ACCELERATIONS)[number] | null,
          },
        });
      let out = (await add(credentials)).hostAdd;
      const offered = out.userErrors[0]?.offeredHostKey;
      const ssh = credentials && 'ssh' in credentials ? credentials.ssh : null;
      if (offered && ssh && !ssh.hostKeyFingerprint) {
        if (!(await confirmHostKey(ctx, input.arg('name'), offered)))
          throw new CliError('REFUSED', 'the host key was not confirmed; nothing was added');
        out = (await add({ ssh: { ...ssh, hostKeyFingerprint: offered } })).hostAdd;
      }
      const error = out.userErrors[0];
      if (error) throw userError(error);
      const host = out.host as HostRow;
      return done(`added host ${host.name} (${shortId(host.id)}), ${host.state}`, host);
    },
  },
  {
    words: ['host', 'set'],
    summary:
      'Change a host’s settings: name, overcommit ratios, shared storage, acceleration, enabled.',
    args: [{ name: 'host', description: 'Name or id', complete: 'host' }],
    options: [
      { name: 'name', value: 'name', description: 'A new name' },
      { name: 'cpu-overcommit', value: 'ratio', description: 'vCPUs placed per CPU' },
      { name: 'memory-overcommit', value: 'ratio', description: 'Guest memory placed per byte' },
      {
        name: 'shared-storage',
        value: 'name',
        description: 'Storage shared with other hosts ("" for none)',
      },
      { name: 'acceleration', value: 'AUTO|KVM|TCG', description: 'How guests run' },
      { name: 'enable', description: 'Take new VMs' },
      { name: 'disable', description: 'Take no new VMs' },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'host', input.arg('host'));
      const ratio = (name: string) => {
        const v = input.option(name);
        if (v === undefined) return null;
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0)
          throw new CliError('USAGE', `--${name} takes a positive number`);
        return n;
      };
      if (input.flag('enable') && input.flag('disable'))
        throw new CliError('USAGE', 'give --enable or --disable, not both');
      const out = await api.mutate(
        UPDATE,
        {
          input: {
            id,
            name: input.option('name') ?? null,
            cpuOvercommit: ratio('cpu-overcommit'),
            memoryOvercommit: ratio('memory-overcommit'),
            sharedStorage: input.option('shared-storage') ?? null,
            acceleration: (input.option('acceleration')?.toUpperCase() ?? null) as
              | (typeof ACCELERATIONS)[number]
              | null,
            enabled: input.flag('enable') ? true : input.flag('disable') ? false : null,
          },
        },
        'hostUpdate',
      );
      const host = out.host as HostRow;
      return done(`updated host ${host.name}`, host);
    },
  },
  {
    words: ['host', 'maintenance'],
    summary:
      'Put a host in maintenance: it takes no new VMs; with --evacuate its running VMs move away live first. `host activate` ends it.',
    args: [{ name: 'host', description: 'Name or id', complete: 'host' }],
    options: [{ name: 'evacuate', description: 'Move its running VMs away' }],
    async run(ctx, input) {
      return maintenance(ctx, input.arg('host'), input.flag('evacuate'));
    },
  },
  {
    words: ['host', 'evacuate'],
    summary: 'Move every running VM off a host, live, and leave it in maintenance.',
    args: [{ name: 'host', description: 'Name or id', complete: 'host' }],
    async run(ctx, input) {
      return maintenance(ctx, input.arg('host'), true);
    },
  },
  {
    words: ['host', 'activate'],
    summary: 'Take a host out of maintenance: it takes new VMs again.',
    args: [{ name: 'host', description: 'Name or id', complete: 'host' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'host', input.arg('host'));
      const out = await api.mutate(UPDATE, { input: { id, maintenance: false } }, 'hostUpdate');
      const host = out.host as HostRow;
      // The host's state is the monitor's to give once it has checked it again.
      return done(`host ${host.name} left maintenance`, host);
    },
  },
  {
    words: ['host', 'rm'],
    aliases: ['remove'],
    summary:
      'Remove a host. One with VMs is refused, unless --evacuate moves them away first (the host goes once they have).',
    args: [{ name: 'host', description: 'Name or id', complete: 'host' }],
    options: [{ name: 'evacuate', description: 'Move its VMs away first' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'host', input.arg('host'));
      const out = await api.mutate(REMOVE, { id, evacuate: input.flag('evacuate') }, 'hostRemove');
      return followed(ctx, out.operation, `evacuating ${input.arg('host')}`, () =>
        done(`removed host ${input.arg('host')}`, { id }),
      );
    },
  },
];

async function maintenance(ctx: CommandContext, typed: string, evacuate: boolean) {
  const api = ctx.api();
  const id = await resolveRef(api, 'host', typed);
  const out = await api.mutate(MAINTENANCE, { id, evacuate }, 'hostMaintenance');
  return followed(ctx, out.operation, `evacuating ${typed}`, async () => {
    const host = await hostById(ctx, id);
    return done(`host ${typed} is in maintenance`, host ?? { id });
  });
}
