import { graphql } from '../../graphql/graphql.ts';
import { succeeded, waitFor } from '../operations/wait.ts';
import { ago } from '../output/format.ts';
import { type Column, done, table } from '../output/output.ts';
import { shortId } from '../resources/ids.ts';
import { allPages, PAGE } from '../resources/pages.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const OPERATIONS = graphql(`query Operations($after: String, $first: Int!) {
  operations(first: $first, after: $after) {
    edges { node { id kind status progress phase error targetType targetId createdAt finishedAt } }
    pageInfo { hasNextPage endCursor } } }`);
const CANCEL = graphql(`mutation OperationCancel($id: ID!) {
  operationCancel(input: { id: $id }) { operation { id status } userErrors { code field message } } }`);

const COLUMNS: readonly Column[] = [
  { key: 'id', header: 'ID', format: (v) => shortId(String(v)) },
  { key: 'kind', header: 'Kind' },
  { key: 'status', header: 'Status', state: true },
  {
    key: 'progress',
    header: 'Done',
    align: 'right',
    format: (v) => `${Math.floor(Number(v) * 100)}%`,
  },
  { key: 'phase', header: 'Phase', format: (v, r) => String(r.error ?? v ?? '') },
  { key: 'targetType', header: 'On' },
  { key: 'createdAt', header: 'Started', format: (v) => ago(v as string) },
];

/** The commands about long operations: list them, follow one, cancel one. */
export const operationCommands: readonly CommandSpec[] = [
  {
    words: ['operation', 'ls'],
    aliases: ['list'],
    summary:
      'List your operations, newest first (everyone’s, for admins); --running for those not finished.',
    options: [{ name: 'running', description: 'Only those pending or running' }],
    async run(ctx, input) {
      const api = ctx.api();
      const ops = await allPages(
        async (after) => (await api.request(OPERATIONS, { after, first: PAGE })).operations,
        input.flag('running') ? 10_000 : 200,
      );
      const rows = input.flag('running')
        ? ops.filter((o) => o.status === 'PENDING' || o.status === 'RUNNING')
        : ops;
      return table(COLUMNS, rows);
    },
  },
  {
    words: ['operation', 'watch'],
    summary:
      'Follow an operation until it ends, with its progress (Ctrl-C stops watching, not it).',
    args: [{ name: 'operation', description: 'Its id', complete: 'operation' }],
    async run(ctx, input) {
      const id = await resolveRef(ctx.api(), 'operation', input.arg('operation'));
      const label = `operation ${shortId(id)}`;
      const ended = succeeded(await waitFor(ctx, id, label), label);
      return done(`${ended.kind} ${shortId(id)} succeeded`, { ...ended });
    },
  },
  {
    words: ['operation', 'cancel'],
    summary: 'Cancel a running operation: it stops and cleans up after itself.',
    args: [{ name: 'operation', description: 'Its id', complete: 'operation' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'operation', input.arg('operation'));
      await api.mutate(CANCEL, { id }, 'operationCancel');
      if (!ctx.wait) return done(`cancelling operation ${shortId(id)}`, { id });
      const label = `cancelling ${shortId(id)}`;
      const ended = await waitFor(ctx, id, label);
      if (ended.status === 'CANCELLED')
        return done(`cancelled operation ${shortId(id)}`, { ...ended });
      return done(`operation ${shortId(id)} had already succeeded`, { ...succeeded(ended, label) });
    },
  },
];
