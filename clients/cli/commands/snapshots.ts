import { graphql } from '../../graphql/graphql.ts';
import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { ago } from '../output/format.ts';
import { done, table } from '../output/output.ts';
import { shortId } from '../resources/ids.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const SNAPSHOTS = graphql(`query VmSnapshots($id: ID!) {
  node(id: $id) { ... on Vm { name snapshots { id name description withMemory createdAt } } } }`);
const CREATE = graphql(`mutation VmSnapshotCreate($input: VmSnapshotCreateInput!) {
  vmSnapshotCreate(input: $input) {
    snapshot { id name description withMemory createdAt } userErrors { code field message } } }`);
const REVERT = graphql(`mutation VmSnapshotRevert($id: ID!) {
  vmSnapshotRevert(input: { id: $id }) { vm { id name state } userErrors { code field message } } }`);
const DELETE = graphql(`mutation VmSnapshotDelete($id: ID!) {
  vmSnapshotDelete(input: { id: $id }) { deletedSnapshotId userErrors { code field message } } }`);

const VM_ARG = { name: 'vm', description: 'Name or id', complete: 'vm' } as const;
const SNAPSHOT_ARG = { name: 'snapshot', description: 'Its name or id' } as const;

async function snapshotsOf(api: Api, vm: string) {
  const { node } = await api.request(SNAPSHOTS, { id: vm });
  return node && 'snapshots' in node ? node.snapshots : [];
}

// A VM's snapshot by name, id or the start of its id.
async function snapshotOf(api: Api, vm: string, typed: string) {
  const all = await snapshotsOf(api, vm);
  const found = all.filter(
    (s) =>
      s.name === typed || s.id === typed || (typed.length >= 4 && shortId(s.id).startsWith(typed)),
  );
  if (found.length === 1) return found[0] as (typeof all)[number];
  if (found.length > 1) throw new CliError('USAGE', `${found.length} snapshots match ${typed}`);
  throw new CliError('NOT_FOUND', `no snapshot ${typed}`, {
    hint: 'see `kumo vm snapshot ls <vm>`',
  });
}

/** The commands about a VM's snapshots: take, list, go back to, delete. */
export const snapshotCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'snapshot', 'create'],
    summary: 'Snapshot a VM: its disk, and its memory while it runs (the guest pauses briefly).',
    args: [VM_ARG, { name: 'name', description: 'The snapshot’s name' }],
    options: [{ name: 'description', value: 'text', description: 'What it is' }],
    async run(ctx, input) {
      const api = ctx.api();
      const vm = await resolveRef(api, 'vm', input.arg('vm'));
      const out = await api.mutate(
        CREATE,
        {
          input: { vm, name: input.arg('name'), description: input.option('description') ?? null },
        },
        'vmSnapshotCreate',
      );
      const snap = out.snapshot as NonNullable<typeof out.snapshot>;
      return done(
        `snapshot ${snap.name} of ${input.arg('vm')} taken${snap.withMemory ? ' with memory' : ''}`,
        snap,
      );
    },
  },
  {
    words: ['vm', 'snapshot', 'ls'],
    aliases: ['list'],
    summary: 'List a VM’s snapshots, oldest first.',
    args: [VM_ARG],
    async run(ctx, input) {
      const api = ctx.api();
      const snaps = await snapshotsOf(api, await resolveRef(api, 'vm', input.arg('vm')));
      return table(
        [
          { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
          { key: 'name', header: 'Name' },
          { key: 'withMemory', header: 'Memory', format: (v) => (v ? 'yes' : 'no') },
          { key: 'createdAt', header: 'Taken', format: (v) => ago(v as string) },
          { key: 'description', header: 'Description' },
        ],
        snaps,
      );
    },
  },
  {
    words: ['vm', 'snapshot', 'revert'],
    summary: 'Return a VM to a snapshot; what changed since is lost.',
    args: [VM_ARG, SNAPSHOT_ARG],
    async run(ctx, input) {
      const api = ctx.api();
      const vm = await resolveRef(api, 'vm', input.arg('vm'));
      const snap = await snapshotOf(api, vm, input.arg('snapshot'));
      const out = await api.mutate(REVERT, { id: snap.id }, 'vmSnapshotRevert');
      return done(`${out.vm?.name} is back at ${snap.name}: ${out.vm?.state}`, {
        ...(out.vm ?? {}),
        snapshot: snap.id,
      });
    },
  },
  {
    words: ['vm', 'snapshot', 'rm'],
    aliases: ['remove'],
    summary: 'Delete a snapshot (the VM stays as it is).',
    args: [VM_ARG, SNAPSHOT_ARG],
    async run(ctx, input) {
      const api = ctx.api();
      const vm = await resolveRef(api, 'vm', input.arg('vm'));
      const snap = await snapshotOf(api, vm, input.arg('snapshot'));
      await api.mutate(DELETE, { id: snap.id }, 'vmSnapshotDelete');
      return done(`deleted snapshot ${snap.name}`, { id: snap.id });
    },
  },
];
