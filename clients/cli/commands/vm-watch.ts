import { graphql } from '../../graphql/graphql.ts';
import { bytes, clock } from '../output/format.ts';
import type { Column } from '../output/output.ts';
import { alignedRows, COUNT_OPTION, printStream } from '../output/stream.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const STATES = graphql(`subscription VmStates($vm: ID) {
  vmStateChanged(vm: $vm) { at vmId previous state reason vm { name } } }`);
const METRICS = graphql(`subscription VmMetrics($vm: ID!) {
  vmMetrics(vm: $vm) { at seconds cpuPercent memoryBytes diskReadBytesPerSecond
    diskWriteBytesPerSecond netRxBytesPerSecond netTxBytesPerSecond } }`);

const rate = (v: unknown) => `${bytes(Number(v))}/s`;

const METRIC_COLUMNS: readonly Column[] = [
  { key: 'at', header: 'Time', format: clock },
  { key: 'cpuPercent', header: 'CPU', align: 'right', format: (v) => `${Number(v).toFixed(1)}%` },
  { key: 'memoryBytes', header: 'Memory', align: 'right', format: (v) => bytes(v as string) },
  { key: 'diskReadBytesPerSecond', header: 'Disk read', align: 'right', format: rate },
  { key: 'diskWriteBytesPerSecond', header: 'Disk write', align: 'right', format: rate },
  { key: 'netRxBytesPerSecond', header: 'Net in', align: 'right', format: rate },
  { key: 'netTxBytesPerSecond', header: 'Net out', align: 'right', format: rate },
];
const BUSY = 1023 * 1024 ** 2;
const WIDEST = {
  at: '1970-01-01T00:00:00Z',
  cpuPercent: 100,
  memoryBytes: String(1023n << 30n),
  diskReadBytesPerSecond: BUSY,
  diskWriteBytesPerSecond: BUSY,
  netRxBytesPerSecond: BUSY,
  netTxBytesPerSecond: BUSY,
};

/** The commands that follow VMs live: their state changes, their metrics. */
export const vmWatchCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'watch'],
    summary:
      'Print each change of state of your VMs (or of one) as it happens, until Ctrl-C; --json prints one object per line.',
    args: [{ name: 'vm', description: 'Name or id', optional: true, complete: 'vm' }],
    options: [COUNT_OPTION],
    async run(ctx, input) {
      const api = ctx.api();
      const typed = input.optionalArg('vm');
      const vm = typed ? await resolveRef(api, 'vm', typed) : null;
      const { state } = ctx.style;
      return printStream(
        ctx,
        async function* (signal) {
          for await (const { vmStateChanged: e } of api.subscribe(STATES, { vm }, signal))
            yield { ...e, id: e.vmId, vmName: e.vm?.name ?? null };
        },
        {
          line: (e) =>
            `${clock(e.at)}  ${e.vmName ?? e.vmId}  ${state(e.previous)} -> ${state(e.state)}  ${ctx.style.dim(e.reason)}`,
        },
        input.option('count'),
      );
    },
  },
  {
    words: ['vm', 'top'],
    summary:
      'Print a running VM’s CPU, memory, disk and network rates at each metering interval, until Ctrl-C.',
    args: [{ name: 'vm', description: 'Name or id', complete: 'vm' }],
    options: [COUNT_OPTION],
    async run(ctx, input) {
      const api = ctx.api();
      const vm = await resolveRef(api, 'vm', input.arg('vm'));
      return printStream(
        ctx,
        async function* (signal) {
          for await (const { vmMetrics: m } of api.subscribe(METRICS, { vm }, signal))
            yield { ...m, id: vm };
        },
        alignedRows(METRIC_COLUMNS, WIDEST, ctx.style),
        input.option('count'),
      );
    },
  },
];
