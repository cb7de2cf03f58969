import { useState } from 'react';
import { useSubscription } from 'urql';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { LineChart } from '../charts/line-chart.tsx';

const VM_METRICS = graphql(`subscription VmMetrics($vm: ID!) {
  vmMetrics(vm: $vm) {
    at cpuPercent memoryBytes diskReadBytesPerSecond diskWriteBytesPerSecond
    netRxBytesPerSecond netTxBytesPerSecond
  } }`);

type Sample = ResultOf<typeof VM_METRICS>['vmMetrics'];

/** WINDOW is how many samples the charts keep: ten minutes at the default 10 s interval. */
const WINDOW = 60;

const rate = (v: number) => `${bytes(Math.round(v))}/s`;

/**
 * VmMetricsCharts follows a running VM's rates (`vmMetrics`, one sample per metering interval)
 * and charts the last WINDOW of them: CPU, memory, disk and network.
 */
export function VmMetricsCharts({ vmId }: { vmId: string }) {
  const [samples, setSamples] = useState<readonly Sample[]>([]);
  useSubscription({ query: VM_METRICS, variables: { vm: vmId } }, (_prev, event) => {
    setSamples((s) => [...s, event.vmMetrics].slice(-WINDOW));
    return event;
  });
  const of = (pick: (s: Sample) => number) => samples.map(pick);
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      {samples.length === 0 && (
        <p role="status">Waiting for the first sample (one every metering interval)…</p>
      )}
      <div className="charts">
        <LineChart
          title="CPU"
          max={100}
          format={(v) => `${v.toFixed(1)}%`}
          series={[{ name: 'busy', values: of((s) => s.cpuPercent) }]}
        />
        <LineChart
          title="Memory"
          format={(v) => bytes(v)}
          series={[{ name: 'used', values: of((s) => Number(s.memoryBytes)) }]}
        />
        <LineChart
          title="Disk"
          format={rate}
          series={[
            { name: 'read', values: of((s) => s.diskReadBytesPerSecond) },
            { name: 'write', values: of((s) => s.diskWriteBytesPerSecond) },
          ]}
        />
        <LineChart
          title="Network"
          format={rate}
          series={[
            { name: 'in', values: of((s) => s.netRxBytesPerSecond) },
            { name: 'out', values: of((s) => s.netTxBytesPerSecond) },
          ]}
        />
      </div>
    </section>
  );
}
