import { graphql } from '../../graphql/graphql.ts';
import { bytes, clock, parseCount } from '../output/format.ts';
import type { Column } from '../output/output.ts';
import { alignedRows, COUNT_OPTION, printStream } from '../output/stream.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const STATES = graphql(`subscription HostStates($host: ID) {
  hostStateChanged(host: $host) { at previous state reason host { id name } } }`);
const METRICS = graphql(`subscription HostMetrics($host: ID, $interval: Int) {
  hostMetrics(host: $host, intervalSeconds: $interval) {
    at cpuUsage memoryUsedBytes memoryFreeBytes memoryTotalBytes host { id name } } }`);

const METRIC_COLUMNS: readonly Column[] = [
  { key: 'at', header: 'Time', format: clock },
  { key: 'name', header: 'Host' },
  {
    key: 'cpuUsage',
    header: 'CPU',
    align: 'right',
    format: (v) => `${(Number(v) * 100).toFixed(1)}%`,
  },
  {
    key: 'memoryUsedBytes',
    header: 'Memory used',
    align: 'right',
    format: (v, r) => `${bytes(Number(v))} of ${bytes(Number(r.memoryTotalBytes))}`,
  },
];
const WIDEST = {
  at: '1970-01-01T00:00:00Z',
  name: 'a-host-name-of-24-chars-',
  cpuUsage: 1,
  memoryUsedBytes: 1023 * 1024 ** 3,
  memoryTotalBytes: 1023 * 1024 ** 3,
};

const HOST = {
  name: 'host',
  description: 'Name or id (all when left out)',
  optional: true,
  complete: 'host',
} as const;

/** The commands that follow hosts live: their state changes, their CPU and memory. */
export const hostWatchCommands: readonly CommandSpec[] = [
  {
    words: ['host', 'watch'],
    summary: 'Print each change of state of the hosts (or of one) as it happens, until Ctrl-C.',
    args: [HOST],
    options: [COUNT_OPTION],
    async run(ctx, input) {
      const api = ctx.api();
      const typed = input.optionalArg('host');
      const host = typed ? await resolveRef(api, 'host', typed) : null;
      const { state } = ctx.style;
      return printStream(
        ctx,
        async function* (signal) {
          for await (const { hostStateChanged: e } of api.subscribe(STATES, { host }, signal))
            yield { ...e, id: e.host?.id ?? null, name: e.host?.name ?? null };
        },
        {
          line: (e) =>
            `${clock(e.at)}  ${e.name ?? '-'}  ${state(e.previous)} -> ${state(e.state)}  ${ctx.style.dim(e.reason)}`,
        },
        input.option('count'),
      );
    },
  },
  {
    words: ['host', 'top'],
    summary:
      'Print the CPU and memory use of the hosts (or of one) every few seconds, until Ctrl-C.',
    args: [HOST],
    options: [COUNT_OPTION, { name: 'interval', value: 'seconds', description: 'How often (5)' }],
    async run(ctx, input) {
      const api = ctx.api();
      const typed = input.optionalArg('host');
      const host = typed ? await resolveRef(api, 'host', typed) : null;
      const every = input.option('interval');
      const interval = every === undefined ? null : parseCount(every, '--interval');
      return printStream(
        ctx,
        async function* (signal) {
          for await (const { hostMetrics: m } of api.subscribe(METRICS, { host, interval }, signal))
            yield { ...m, id: m.host?.id ?? null, name: m.host?.name ?? null };
        },
        alignedRows(METRIC_COLUMNS, WIDEST, ctx.style),
        input.option('count'),
      );
    },
  },
];
