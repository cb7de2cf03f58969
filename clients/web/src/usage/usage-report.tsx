import { useMemo, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';
import { bytes, duration } from '../../../values/units.ts';
import { BarChart } from '../charts/bar-chart.tsx';
import { MeterBar } from '../charts/meter-bar.tsx';
import { ErrorList } from '../layout/error-list.tsx';
import { Table } from '../layout/table.tsx';

const QUOTA_USAGE = graphql(`subscription QuotaUsage($user: ID) {
  quotaUsageChanged(user: $user) { limit max used remaining periodEnd } }`);
const USAGE = graphql(`query Usage($from: DateTime!, $to: DateTime!, $user: ID) {
  usage(from: $from, to: $to, granularity: HOUR, user: $user) {
    vms {
      vmId vmName
      total { cpuSeconds memoryByteSeconds netRxBytes netTxBytes }
      points { start used { cpuSeconds } }
    }
  } }`);

type Limit = ResultOf<typeof QUOTA_USAGE>['quotaUsageChanged'][number];

// Limits counted in bytes show as sizes; CPU_SECONDS as a duration; the rest are counts.
function amount(limit: Limit['limit'], value: bigint | number | string): string {
  if (limit.endsWith('BYTES')) return bytes(value);
  if (limit === 'CPU_SECONDS') return duration(Number(value));
  return String(value);
}

const USER_EMAIL = graphql(`query UserEmail($id: ID!) { node(id: $id) { ... on User { email } } }`);

const HOUR = 3600_000;

const LIMIT_NAMES: Record<Limit['limit'], string> = {
  VMS: 'VMs',
  RUNNING_VMS: 'Running VMs',
  VCPUS: 'vCPUs',
  MEMORY_BYTES: 'Memory',
  DISK_BYTES: 'Disk',
  IMAGES: 'Images',
  IMAGE_BYTES: 'Image storage',
  SNAPSHOTS: 'Snapshots',
  CPU_SECONDS: 'CPU time',
  DISK_READ_BYTES: 'Disk reads',
  DISK_WRITE_BYTES: 'Disk writes',
  NET_RX_BYTES: 'Network in',
  NET_TX_BYTES: 'Network out',
};

/**
 * UsageReport is a user's quota, live (`quotaUsageChanged`: at reservations and metering
 * rounds), and what their VMs consumed over the last day, hour by hour and VM by VM: the
 * viewer's own (`user` null), or, for admins, anyone's (showback).
 */
export function UsageReport({ user }: { user: string | null }) {
  const [limits, setLimits] = useState<readonly Limit[] | null>(null);
  const [who] = useQuery({ query: USER_EMAIL, variables: { id: user ?? '' }, pause: !user });
  const email = who.data?.node && 'email' in who.data.node ? who.data.node.email : null;
  useSubscription({ query: QUOTA_USAGE, variables: { user } }, (_p, e) => {
    setLimits(e.quotaUsageChanged);
    return e;
  });
  // The day is fixed when the page opens; reopening the page reads a newer one.
  const day = useMemo(() => {
    const to = new Date();
    return {
      from: new Date(to.getTime() - 24 * HOUR).toISOString(),
      to: to.toISOString(),
      user,
    };
  }, [user]);
  const [{ data, error }] = useQuery({ query: USAGE, variables: day });
  // Every hour of the day gets a bar, those without use too, so the chart reads as a day.
  const hours = useMemo(() => {
    const byHour = new Map<number, number>();
    for (const vm of data?.usage.vms ?? [])
      for (const p of vm.points) {
        const at = Date.parse(p.start);
        byHour.set(at, (byHour.get(at) ?? 0) + p.used.cpuSeconds);
      }
    const first = Math.floor(Date.parse(day.from) / HOUR) * HOUR;
    return Array.from({ length: 25 }, (_, i) => first + i * HOUR).map((at) => ({
      label: new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      value: byHour.get(at) ?? 0,
    }));
  }, [data, day]);
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">{user ? `Usage of ${email ?? '…'}` : 'My usage'}</h1>
      <ErrorList error={who.error} />
      <h2>Quota</h2>
      {!limits && <p role="status">Reading the quota…</p>}
      {limits && (
        <Table columns={['Limit', 'Use', 'Window ends']}>
          {limits.map((l) => (
            <tr key={l.limit} data-limit={l.limit}>
              <th scope="row">{LIMIT_NAMES[l.limit]}</th>
              <td>
                {l.max == null ? (
                  `${amount(l.limit, l.used)} (no limit)`
                ) : (
                  <MeterBar
                    label={`${LIMIT_NAMES[l.limit]} used`}
                    used={Number(l.used)}
                    total={Number(l.max)}
                    text={`${amount(l.limit, l.used)} of ${amount(l.limit, l.max)}`}
                  />
                )}
              </td>
              <td>{l.periodEnd ? new Date(l.periodEnd).toLocaleString() : '—'}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>The last day</h2>
      <ErrorList error={error} />
      {data && (
        <>
          <div className="charts">
            <BarChart title="CPU time by hour" bars={hours} format={(v) => duration(v)} />
          </div>
          <Table columns={['VM', 'CPU time', 'Memory (GiB-hours)', 'Network in', 'Network out']}>
            {data.usage.vms.map((vm) => (
              <tr key={vm.vmId}>
                <th scope="row">{vm.vmName}</th>
                <td>{duration(vm.total.cpuSeconds)}</td>
                <td>{(Number(vm.total.memoryByteSeconds) / 2 ** 30 / 3600).toFixed(2)}</td>
                <td>{bytes(vm.total.netRxBytes)}</td>
                <td>{bytes(vm.total.netTxBytes)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
    </section>
  );
}
