import { graphql, type VariablesOf } from '../../graphql/graphql.ts';
import { CliError } from '../api/cli-error.ts';
import { ago, bytes, parseCount, parseDuration, parseSize, parseTime } from '../output/format.ts';
import { type Column, done, type Json, type Row, table } from '../output/output.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec, Input, OptionSpec } from './command.ts';

const QUOTA_USAGE = graphql(`query QuotaUsage($user: ID) {
  quotaUsage(user: $user) { limit max used remaining periodStart periodEnd } }`);
const QUOTA_SET = graphql(`mutation QuotaSet($input: QuotaSetInput!) {
  quotaSet(input: $input) {
    quota { vms runningVms vcpus memoryBytes diskBytes images imageBytes snapshots cpuSeconds
      diskReadBytes diskWriteBytes netRxBytes netTxBytes updatedAt }
    userErrors { code field message } } }`);
const AMOUNTS = 'cpuSeconds diskReadBytes diskWriteBytes netRxBytes netTxBytes';
const USAGE =
  graphql(`query Usage($user: ID, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity) {
  usage(user: $user, from: $from, to: $to, granularity: $granularity) {
    from to granularity total { ${AMOUNTS} } vms { vmId vmName total { ${AMOUNTS} } } } }`);

type QuotaSetInput = VariablesOf<typeof QUOTA_SET>['input'];
type LimitField = Exclude<keyof QuotaSetInput, 'user'>;
// The limits that are GraphQL Ints (counts), and those that are BigInts (bytes, seconds).
type IntField = {
  [K in LimitField]: NonNullable<QuotaSetInput[K]> extends number ? K : never;
}[LimitField];
type BigField = Exclude<LimitField, IntField>;
type Changes = { -readonly [K in LimitField]?: QuotaSetInput[K] };

/**
 * Limit is one quota limit, as the server names it (MEMORY_BYTES), as quotaSet's input does
 * (memoryBytes) and as people type it (--memory); `kind` says how its values read.
 */
type Limit = {
  readonly limit: string;
  readonly option: string;
  readonly description: string;
} & (
  | { readonly kind: 'count'; readonly field: IntField }
  | { readonly kind: 'bytes' | 'seconds'; readonly field: BigField }
);

// In the order the server lists them: what users hold, then what they consume in the window.
const LIMITS: readonly Limit[] = [
  { limit: 'VMS', field: 'vms', option: 'vms', kind: 'count', description: 'VMs' },
  {
    limit: 'RUNNING_VMS',
    field: 'runningVms',
    option: 'running-vms',
    kind: 'count',
    description: 'VMs running at once',
  },
  { limit: 'VCPUS', field: 'vcpus', option: 'vcpus', kind: 'count', description: 'vCPUs' },
  {
    limit: 'MEMORY_BYTES',
    field: 'memoryBytes',
    option: 'memory',
    kind: 'bytes',
    description: 'Memory of the VMs',
  },
  {
    limit: 'DISK_BYTES',
    field: 'diskBytes',
    option: 'disk',
    kind: 'bytes',
    description: 'Virtual disk sizes of the VMs',
  },
  { limit: 'IMAGES', field: 'images', option: 'images', kind: 'count', description: 'Images' },
  {
    limit: 'IMAGE_BYTES',
    field: 'imageBytes',
    option: 'image-bytes',
    kind: 'bytes',
    description: 'Stored image bytes',
  },
  {
    limit: 'SNAPSHOTS',
    field: 'snapshots',
    option: 'snapshots',
    kind: 'count',
    description: 'Snapshots',
  },
  {
    limit: 'CPU_SECONDS',
    field: 'cpuSeconds',
    option: 'cpu-seconds',
    kind: 'seconds',
    description: 'vCPU seconds per window',
  },
  {
    limit: 'DISK_READ_BYTES',
    field: 'diskReadBytes',
    option: 'disk-read',
    kind: 'bytes',
    description: 'Disk bytes read per window',
  },
  {
    limit: 'DISK_WRITE_BYTES',
    field: 'diskWriteBytes',
    option: 'disk-write',
    kind: 'bytes',
    description: 'Disk bytes written per window',
  },
  {
    limit: 'NET_RX_BYTES',
    field: 'netRxBytes',
    option: 'net-rx',
    kind: 'bytes',
    description: 'Network bytes received per window',
  },
  {
    limit: 'NET_TX_BYTES',
    field: 'netTxBytes',
    option: 'net-tx',
    kind: 'bytes',
    description: 'Network bytes sent per window',
  },
];

const limitOf = (name: Json | undefined) => LIMITS.find((l) => l.limit === name);

// A limit's value as people read it: sizes in binary units, `-` for none (unlimited).
function amount(value: Json, row: Row): string {
  if (value === null) return '-';
  return limitOf(row.limit)?.kind === 'bytes' ? bytes(String(value)) : String(value);
}

const USAGE_COLUMNS: readonly Column[] = [
  { key: 'limit', header: 'Limit', format: (v) => limitOf(v)?.option ?? String(v) },
  { key: 'max', header: 'Max', align: 'right', format: amount },
  { key: 'used', header: 'Used', align: 'right', format: amount },
  { key: 'remaining', header: 'Remaining', align: 'right', format: amount },
  {
    key: 'periodEnd',
    header: 'Resets',
    format: (v) => (v ? ago(v as string) : ''),
  },
];

// `none` lifts a limit: null is unlimited, as QuotaSetInput says.
const NONE = /^none$/i;

// Reads a count limit's option: a whole number that fits a GraphQL Int, or none.
function countValue(l: Limit, text: string): number | null {
  return NONE.test(text) ? null : parseCount(text, `--${l.option}`, 0);
}

// Reads a BigInt limit's option: a size (bytes limits), whole seconds, or none.
function bigValue(l: Limit, text: string): string | null {
  if (NONE.test(text)) return null;
  if (l.kind === 'bytes') return parseSize(text).toString();
  if (!/^\d+$/.test(text))
    throw new CliError('USAGE', `--${l.option} takes whole seconds, or none, not ${text}`);
  return text;
}

// The quotaSet input of the options given: a limit left out is left unchanged.
function changesOf(input: Input): Changes {
  const changes: Changes = {};
  for (const l of LIMITS) {
    const text = input.option(l.option);
    if (text === undefined) continue;
    if (l.kind === 'count') changes[l.field] = countValue(l, text);
    else changes[l.field] = bigValue(l, text);
  }
  return changes;
}

// Describes a change for people: `memory 2.0 GiB`, `vms none`.
function described(l: Limit, value: string | number | null): string {
  if (value === null) return `${l.option} none`;
  return `${l.option} ${l.kind === 'bytes' ? bytes(value) : value}`;
}

const SET_OPTIONS: readonly OptionSpec[] = LIMITS.map((l) => ({
  name: l.option,
  value: l.kind === 'bytes' ? 'size' : l.kind === 'seconds' ? 'seconds' : 'n',
  description: `${l.description} (none: unlimited)`,
}));

const GRANULARITIES = ['MINUTE', 'HOUR', 'DAY'] as const;
type Granularity = (typeof GRANULARITIES)[number];

const USAGE_REPORT_COLUMNS: readonly Column[] = [
  { key: 'vm', header: 'VM' },
  {
    key: 'cpuSeconds',
    header: 'CPU',
    align: 'right',
    format: (v) => `${Number(v).toFixed(1)}s`,
  },
  { key: 'diskReadBytes', header: 'Disk read', align: 'right', format: (v) => bytes(String(v)) },
  {
    key: 'diskWriteBytes',
    header: 'Disk written',
    align: 'right',
    format: (v) => bytes(String(v)),
  },
  { key: 'netRxBytes', header: 'Net in', align: 'right', format: (v) => bytes(String(v)) },
  { key: 'netTxBytes', header: 'Net out', align: 'right', format: (v) => bytes(String(v)) },
];

// The window `usage` reports on: --from or --since (default: 24 h ago) up to --to (now).
function windowOf(input: Input): { from: string; to: string } {
  const since = input.option('since');
  const from = input.option('from');
  if (since && from) throw new CliError('USAGE', 'give --from or --since, not both');
  const now = Date.now();
  const to = input.option('to') ? parseTime(input.option('to') as string, -1, now) : new Date(now);
  const start = from
    ? parseTime(from, -1, now)
    : new Date(to.getTime() - parseDuration(since ?? '24h'));
  if (start.getTime() >= to.getTime())
    throw new CliError('USAGE', 'the window ends before it starts', {
      hint: 'give --from earlier than --to',
    });
  return { from: start.toISOString(), to: to.toISOString() };
}

/** The commands about limits and consumption: quotas, and what VMs used. */
export const quotaCommands: readonly CommandSpec[] = [
  {
    words: ['quota', 'show'],
    summary:
      'Show a user’s limits with what is used and what remains: yours when left out, anyone’s for admins.',
    args: [{ name: 'user', description: 'Email or id', optional: true, complete: 'user' }],
    async run(ctx, input) {
      const api = ctx.api();
      const typed = input.optionalArg('user');
      const user = typed ? await resolveRef(api, 'user', typed) : null;
      const { quotaUsage } = await api.request(QUOTA_USAGE, { user });
      return table(USAGE_COLUMNS, quotaUsage);
    },
  },
  {
    words: ['quota', 'set'],
    summary:
      'Change a user’s limits (admins): only the limits given change; none lifts one. Sizes: 512M, 2G, 1.5T or bytes.',
    args: [{ name: 'user', description: 'Email or id', complete: 'user' }],
    options: SET_OPTIONS,
    async run(ctx, input) {
      const changes = changesOf(input);
      if (Object.keys(changes).length === 0)
        throw new CliError('USAGE', 'quota set needs a limit to change', {
          hint: 'e.g. quota set bob@example.com --vms 5 --memory 8G',
        });
      const api = ctx.api();
      const user = await resolveRef(api, 'user', input.arg('user'));
      const out = await api.mutate(QUOTA_SET, { input: { user, ...changes } }, 'quotaSet');
      const what = LIMITS.flatMap((l) =>
        l.field in changes ? [described(l, changes[l.field] ?? null)] : [],
      );
      return done(`set quota of ${input.arg('user')}: ${what.join(', ')}`, {
        user,
        ...(out.quota as NonNullable<typeof out.quota>),
      });
    },
  },
  {
    words: ['usage'],
    summary:
      'Show what a user’s VMs consumed, per VM and in total: yours when left out, over the last 24 hours unless told.',
    options: [
      { name: 'user', value: 'user', description: 'Email or id (admins)', complete: 'user' },
      { name: 'from', value: 'time', description: 'Start: ISO-8601, or a span ago (7d)' },
      { name: 'since', value: 'span', description: 'Start, as a span ago: 30m, 24h, 7d' },
      { name: 'to', value: 'time', description: 'End: ISO-8601, or a span ago (default: now)' },
      {
        name: 'granularity',
        value: 'bucket',
        description: 'The buckets the totals are summed from: MINUTE, HOUR (default) or DAY',
      },
    ],
    async run(ctx, input) {
      const { from, to } = windowOf(input);
      const asked = input.option('granularity')?.toUpperCase();
      if (asked !== undefined && !GRANULARITIES.includes(asked as Granularity))
        throw new CliError('USAGE', `--granularity is MINUTE, HOUR or DAY, not ${asked}`);
      const api = ctx.api();
      const typed = input.option('user');
      const user = typed ? await resolveRef(api, 'user', typed) : null;
      const { usage } = await api.request(USAGE, {
        user,
        from,
        to,
        granularity: (asked as Granularity | undefined) ?? null,
      });
      // One row a VM and a total row (id null), so an idle user still sees zero.
      return table(USAGE_REPORT_COLUMNS, [
        ...usage.vms.map((v) => ({ id: v.vmId, vm: v.vmName, ...v.total })),
        { id: null, vm: 'total', ...usage.total },
      ]);
    },
  },
];
