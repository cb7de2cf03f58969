import { graphql } from '../graphql/graphql.ts';
import { bytes, parseCount } from '../output/format.ts';
import { type Column, NONE } from '../output/output.ts';
import { tableLines } from '../output/render.ts';
import { resolveRef } from '../resources/refs.ts';
import { interruptible } from '../terminal.ts';
import type { CommandSpec } from './command.ts';

const STATES = graphql(`subscription VmStates($vm: ID) {
  vmStateChanged(vm: $vm) { at vmId previous state reason vm { name } } }`);
const METRICS = graphql(`subscription VmMetrics($vm: ID!) {
  vmMetrics(vm: $vm) { at seconds cpuPercent memoryBytes diskReadBytesPerSecond
    diskWriteBytesPerSecond netRxBytesPerSecond netTxBytesPerSecond } }`);

const time = (iso: unknown) => new Date(String(iso)).toLocaleTimeString('en-GB', { hour12: false });
const rate = (v: unknown) => `${bytes(Number(v))}/s`;

const METRIC_COLUMNS: readonly Column[] = [
  { key: 'at', header: 'Time', format: time },
  { key: 'cpuPercent', header: 'CPU', align: 'right', format: (v) => `${Number(v).toFixed(1)}%` },
  { key: 'memoryBytes', header: 'Memory', align: 'right', format: (v) => bytes(v as string) },
  { key: 'diskReadBytesPerSecond', header: 'Disk read', align: 'right', format: rate },
  { key: 'diskWriteBytesPerSecond', header: 'Disk write', align: 'right', format: rate },
  { key: 'netRxBytesPerSecond', header: 'Net in', align: 'right', format: rate },
  { key: 'netTxBytesPerSecond', header: 'Net out', align: 'right', format: rate },
];

// Samples are printed one by one, each aligned against this widest row, as the header is.
const SAMPLE_ROW = {
  at: '1970-01-01T00:00:00Z',
  cpuPercent: 100,
  memoryBytes: String(1023n << 30n),
  diskReadBytesPerSecond: 1023 * 1024 ** 2,
  diskWriteBytesPerSecond: 1023 * 1024 ** 2,
  netRxBytesPerSecond: 1023 * 1024 ** 2,
  netTxBytesPerSecond: 1023 * 1024 ** 2,
};

function limit(text: string | undefined): number {
  return text === undefined ? Number.POSITIVE_INFINITY : parseCount(text, '--count');
}

/** The commands that follow VMs live: their state changes, their metrics. */
export const vmWatchCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'watch'],
    summary:
      'Print each change of state of your VMs (or of one) as it happens, until Ctrl-C; --json prints one object per line.',
    args: [{ name: 'vm', description: 'Name or id', optional: true, complete: 'vm' }],
    options: [{ name: 'count', value: 'n', description: 'Stop after n changes' }],
    async run(ctx, input) {
      const api = ctx.api();
      const typed = input.optionalArg('vm');
      const vm = typed ? await resolveRef(api, 'vm', typed) : null;
      const max = limit(input.option('count'));
      await interruptible(ctx.terminal, async (signal) => {
        let seen = 0;
        for await (const { vmStateChanged: e } of api.subscribe(STATES, { vm }, signal)) {
          const row = { ...e, vmName: e.vm?.name ?? null };
          if (ctx.mode === 'json') ctx.terminal.out(`${JSON.stringify(row)}\n`);
          else if (ctx.mode === 'quiet') ctx.terminal.out(`${e.vmId}\n`);
          else
            ctx.terminal.out(
              `${time(e.at)}  ${e.vm?.name ?? e.vmId}  ${ctx.style.state(e.previous)} -> ${ctx.style.state(e.state)}  ${ctx.style.dim(e.reason)}\n`,
            );
          if (++seen >= max) break;
        }
      });
      return NONE;
    },
  },
  {
    words: ['vm', 'top'],
    summary:
      'Print a running VM’s CPU, memory, disk and network rates at each metering interval, until Ctrl-C.',
    args: [{ name: 'vm', description: 'Name or id', complete: 'vm' }],
    options: [{ name: 'count', value: 'n', description: 'Stop after n samples' }],
    async run(ctx, input) {
      const api = ctx.api();
      const vm = await resolveRef(api, 'vm', input.arg('vm'));
      const max = limit(input.option('count'));
      const [header = ''] = tableLines(METRIC_COLUMNS, [SAMPLE_ROW], ctx.style);
      if (ctx.mode === 'human') ctx.terminal.out(`${header}\n`);
      await interruptible(ctx.terminal, async (signal) => {
        let seen = 0;
        for await (const { vmMetrics: m } of api.subscribe(METRICS, { vm }, signal)) {
          if (ctx.mode === 'human') {
            const lines = tableLines(METRIC_COLUMNS, [SAMPLE_ROW, m], ctx.style);
            ctx.terminal.out(`${lines[2] ?? ''}\n`);
          } else ctx.terminal.out(`${JSON.stringify(m)}\n`);
          if (++seen >= max) break;
        }
      });
      return NONE;
    },
  },
];
