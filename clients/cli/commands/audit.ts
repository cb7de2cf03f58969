import { graphql } from '../../graphql/graphql.ts';
import { ago, parseCount } from '../output/format.ts';
import { type Column, table } from '../output/output.ts';
import { allPages, PAGE } from '../resources/pages.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const EVENTS =
  graphql(`query AuditEvents($action: String, $actor: ID, $after: String, $first: Int!) {
  auditEvents(action: $action, actor: $actor, first: $first, after: $after) {
    edges { node {
      id createdAt action result targetType targetId address message actor { id email } } }
    pageInfo { hasNextPage endCursor } } }`);

const COLUMNS: readonly Column[] = [
  { key: 'createdAt', header: 'When', format: (v) => ago(v as string) },
  { key: 'actor', header: 'Actor', format: (v) => String(v ?? '-') },
  { key: 'action', header: 'Action' },
  { key: 'result', header: 'Result', state: true },
  {
    key: 'targetType',
    header: 'Target',
    // The target's raw id (not a global id): its first 8 characters, as ids show elsewhere.
    format: (v, r) => (r.targetId ? `${v} ${String(r.targetId).slice(0, 8)}` : String(v)),
  },
  { key: 'address', header: 'Address', format: (v) => String(v ?? '-') },
  { key: 'message', header: 'Message', format: (v) => String(v ?? '') },
];

const DEFAULT_LIMIT = 50;

/** The commands about the audit trail (admins only on the server). */
export const auditCommands: readonly CommandSpec[] = [
  {
    words: ['audit', 'ls'],
    aliases: ['list'],
    summary:
      'List the audit trail, newest first: who did what, to what, from where, and how it went.',
    options: [
      { name: 'action', value: 'action', description: 'Only this action (quotaSet, vmCreate, …)' },
      { name: 'actor', value: 'user', description: 'Only what this user did', complete: 'user' },
      { name: 'limit', value: 'n', description: `How many events (default ${DEFAULT_LIMIT})` },
    ],
    async run(ctx, input) {
      const limit = parseCount(input.option('limit') ?? String(DEFAULT_LIMIT), '--limit');
      const api = ctx.api();
      const typed = input.option('actor');
      const actor = typed ? await resolveRef(api, 'user', typed) : null;
      const action = input.option('action') ?? null;
      const first = Math.min(limit, PAGE);
      const events = await allPages(
        async (after) => (await api.request(EVENTS, { action, actor, after, first })).auditEvents,
        limit,
      );
      // The actor by email (null: the system, or a user removed since), as people know them.
      return table(
        COLUMNS,
        events.slice(0, limit).map(({ actor: who, ...e }) => ({
          ...e,
          actor: who?.email ?? null,
          actorId: who?.id ?? null,
        })),
      );
    },
  },
];
