import { useState } from 'react';
import { useClient, useQuery, useSubscription } from 'urql';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { MeterBar } from '../charts/meter-bar.tsx';
import { ErrorList, problemsOf } from '../layout/error-list.tsx';
import { PAGE, Pager, usePages } from '../layout/pager.tsx';
import { StateBadge } from '../layout/state-badge.tsx';
import { Table } from '../layout/table.tsx';
import { type Change, useChange } from '../layout/use-change.ts';
import { useLiveOperations } from '../operations/live-operations.ts';
import { ProgressBar } from '../operations/progress-bar.tsx';

const HOSTS = graphql(`query Hosts($first: Int!, $after: String) {
  hosts(first: $first, after: $after) {
    edges { node {
      id name uri state maintenance lastError
      facts { cpus memoryBytes storageCapacityBytes storageAvailableBytes hypervisor }
      cpuOvercommit memoryOvercommit
      allocation { vms vcpus memoryBytes vcpuCapacity memoryCapacityBytes }
    } }
    pageInfo { hasNextPage endCursor }
  } }`);
const HOST_STATE_CHANGED = graphql(`subscription HostStateChanged {
  hostStateChanged { state reason host { id } } }`);
const HOST_METRICS = graphql(`subscription HostMetrics {
  hostMetrics { cpuUsage memoryUsedBytes memoryTotalBytes host { id } } }`);
const HOST_MAINTENANCE = graphql(`mutation HostMaintenance($id: ID!, $evacuate: Boolean!) {
  hostMaintenance(input: { id: $id, evacuate: $evacuate }) {
    host { id state } operation { id } userErrors { code field message } } }`);
const HOST_ACTIVATE = graphql(`mutation HostActivate($id: ID!) {
  hostUpdate(input: { id: $id, maintenance: false }) {
    host { id state } userErrors { code field message } } }`);

type HostState = ResultOf<typeof HOST_STATE_CHANGED>['hostStateChanged']['state'];
type Usage = Omit<ResultOf<typeof HOST_METRICS>['hostMetrics'], 'host'>;

/**
 * HostList is the fleet for admins: each host's facts, state as it changes, what its VMs hold
 * of it under its overcommit, storage and live CPU and memory use, and maintenance (with
 * evacuation, its progress shown) and back.
 */
export function HostList() {
  const pages = usePages();
  const [{ data, fetching, error }, reread] = useQuery({
    query: HOSTS,
    variables: { first: PAGE, after: pages.after },
  });
  const refresh = () => reread({ requestPolicy: 'network-only' });
  const [states, setStates] = useState<ReadonlyMap<string, { state: HostState; reason: string }>>(
    new Map(),
  );
  const [usage, setUsage] = useState<ReadonlyMap<string, Usage>>(new Map());
  useSubscription({ query: HOST_STATE_CHANGED }, (_p, e) => {
    const id = e.hostStateChanged.host?.id;
    if (id) setStates((m) => new Map(m).set(id, e.hostStateChanged));
    return e;
  });
  useSubscription({ query: HOST_METRICS }, (_p, e) => {
    const id = e.hostMetrics.host?.id;
    if (id) setUsage((m) => new Map(m).set(id, e.hostMetrics));
    return e;
  });
  const operations = useLiveOperations(refresh);
  const client = useClient();
  const { busy, problems, run } = useChange();
  const change = async (make: Change) => {
    await run(make);
    refresh();
  };
  const enter = (id: string, evacuate: boolean) =>
    change(async () => {
      const r = await client.mutation(HOST_MAINTENANCE, { id, evacuate }).toPromise();
      return problemsOf(r.data?.hostMaintenance.userErrors, r.error);
    });
  const leave = (id: string) =>
    change(async () => {
      const r = await client.mutation(HOST_ACTIVATE, { id }).toPromise();
      return problemsOf(r.data?.hostUpdate.userErrors, r.error);
    });
  const edges = data?.hosts.edges ?? [];
  return (
    <section aria-labelledby="hosts-title">
      <h1 id="hosts-title">Hosts</h1>
      <ErrorList error={error} userErrors={problems} />
      {data && edges.length === 0 && <p>No hosts yet: add one with hostAdd or `kumo host add`.</p>}
      {edges.length > 0 && (
        <Table
          columns={[
            'Name',
            'State',
            'Machine',
            'Allocated',
            'CPU',
            'Memory',
            'Storage',
            { hidden: 'Actions' },
          ]}
        >
          {edges.map(({ node: host }) => {
            const now = states.get(host.id) ?? {
              state: host.state,
              reason: host.lastError ?? '',
            };
            const use = usage.get(host.id);
            const op = operations.get(host.id);
            const f = host.facts;
            return (
              <tr key={host.id} data-host={host.name}>
                <th scope="row">
                  {host.name}
                  <div className="sub wrap">{host.uri}</div>
                </th>
                <td>
                  <StateBadge state={now.state} reason={now.reason} />
                  {op && now.state === 'EVACUATING' && (
                    <ProgressBar op={op} label={`Evacuating ${host.name}`} />
                  )}
                </td>
                <td>
                  {f ? `${f.cpus} CPUs, ${bytes(f.memoryBytes)}` : '—'}
                  <div className="sub">{f?.hypervisor}</div>
                </td>
                <td>
                  <Allocation host={host} />
                </td>
                <td>
                  {use ? (
                    <MeterBar
                      label={`CPU use of ${host.name}`}
                      used={use.cpuUsage}
                      total={1}
                      text={`${(use.cpuUsage * 100).toFixed(0)}% busy`}
                    />
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {use ? (
                    <MeterBar
                      label={`Memory use of ${host.name}`}
                      used={use.memoryUsedBytes}
                      total={use.memoryTotalBytes}
                      text={`${bytes(use.memoryUsedBytes)} of ${bytes(use.memoryTotalBytes)}`}
                    />
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  {/* No pool measured: the host's Kumo pool is made with its first VM. */}
                  {f && f.storageCapacityBytes > 0 ? (
                    <MeterBar
                      label={`Storage use of ${host.name}`}
                      used={f.storageCapacityBytes - f.storageAvailableBytes}
                      total={f.storageCapacityBytes}
                      text={`${bytes(f.storageAvailableBytes)} free of ${bytes(f.storageCapacityBytes)}`}
                    />
                  ) : (
                    '—'
                  )}
                </td>
                <td>
                  <div className="actions">
                    {!host.maintenance && (
                      <>
                        <button
                          type="button"
                          disabled={busy}
                          aria-label={`Maintenance for ${host.name}`}
                          onClick={() => enter(host.id, false)}
                        >
                          Maintenance
                        </button>
                        <button
                          type="button"
                          disabled={busy}
                          aria-label={`Evacuate ${host.name}`}
                          onClick={() => enter(host.id, true)}
                        >
                          Evacuate
                        </button>
                      </>
                    )}
                    {host.maintenance && (
                      <button
                        type="button"
                        disabled={busy}
                        aria-label={`Leave maintenance for ${host.name}`}
                        onClick={() => leave(host.id)}
                      >
                        Leave maintenance
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </Table>
      )}
      <Pager pages={pages} what="Host" pageInfo={data?.hosts.pageInfo} busy={fetching} />
    </section>
  );
}

type HostNode = ResultOf<typeof HOSTS>['hosts']['edges'][number]['node'];

// What the host's VMs hold against what the scheduler may give them (its overcommit included).
function Allocation({ host }: { host: HostNode }) {
  const a = host.allocation;
  if (a.vcpuCapacity === null || a.memoryCapacityBytes === null) return <>—</>;
  const times = (x: number) => (x === 1 ? '' : ` (×${x})`);
  return (
    <>
      <MeterBar
        label={`vCPUs allocated on ${host.name}`}
        used={a.vcpus}
        total={a.vcpuCapacity}
        text={`${a.vcpus} of ${a.vcpuCapacity} vCPUs${times(host.cpuOvercommit)}`}
      />
      <MeterBar
        label={`Memory allocated on ${host.name}`}
        used={Number(a.memoryBytes)}
        total={Number(a.memoryCapacityBytes)}
        text={`${bytes(a.memoryBytes)} of ${bytes(a.memoryCapacityBytes)}${times(host.memoryOvercommit)}`}
      />
      <div className="sub">
        {a.vms} VM{a.vms === 1 ? '' : 's'}
      </div>
    </>
  );
}
