import { useEffect, useMemo } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { ErrorList } from '../layout/error-list.tsx';
import { PAGE, Pager, usePages } from '../layout/pager.tsx';
import { StateBadge } from '../layout/state-badge.tsx';
import { Table } from '../layout/table.tsx';
import { Link } from '../routing/router.tsx';
import { useLiveStates } from './live-states.ts';
import { VmActions } from './vm-actions.tsx';
import { VmCreate } from './vm-create.tsx';

const VMS = graphql(`query Vms($first: Int!, $after: String) {
  vms(first: $first, after: $after) {
    edges { node {
      id name state stateReason vcpus memoryBytes diskBytes ipAddress myRole
      host { name } image { name } owner { email }
    } }
    pageInfo { hasNextPage endCursor }
  } }`);

/**
 * VmList is the table of the VMs the viewer may see, by name, a page at a time. States change
 * in place as libvirt reports them; a VM that appears elsewhere (created in another tab, by
 * the CLI, shared with the viewer) brings the page up to date.
 */
export function VmList() {
  const pages = usePages();
  const [{ data, fetching, error }, reread] = useQuery({
    query: VMS,
    variables: { first: PAGE, after: pages.after },
  });
  const edges = data?.vms.edges ?? [];
  const known = useMemo(() => new Set(edges.map((e) => e.node.id)), [edges]);
  const live = useLiveStates(known);
  useEffect(() => {
    if (live.unknown > 0) reread({ requestPolicy: 'network-only' });
  }, [live.unknown, reread]);
  const refresh = () => reread({ requestPolicy: 'network-only' });

  return (
    <section aria-labelledby="vms-title">
      <div className="title-row">
        <h1 id="vms-title">VMs</h1>
        <VmCreate />
      </div>
      <ErrorList error={error} />
      {data && edges.length === 0 && <p>No VMs yet.</p>}
      {edges.length > 0 && (
        <Table
          columns={[
            'Name',
            'State',
            'Size',
            'Image',
            'Host',
            'Address',
            'Owner',
            { hidden: 'Actions' },
          ]}
        >
          {edges.map(({ node: vm }) => {
            const now = live.states.get(vm.id) ?? { state: vm.state, reason: vm.stateReason };
            return (
              <tr key={vm.id} data-vm={vm.name}>
                <th scope="row">
                  <Link href={`/vms/${encodeURIComponent(vm.id)}`}>{vm.name}</Link>
                </th>
                <td>
                  <StateBadge state={now.state} reason={now.reason} />
                </td>
                <td>
                  {vm.vcpus} vCPU, {bytes(vm.memoryBytes)}, {bytes(vm.diskBytes)} disk
                </td>
                <td>{vm.image?.name ?? '—'}</td>
                <td>{vm.host?.name ?? '—'}</td>
                <td>{vm.ipAddress ?? '—'}</td>
                <td>{vm.owner.email}</td>
                <td>
                  <VmActions vm={{ ...vm, state: now.state }} onRemoved={refresh} />
                </td>
              </tr>
            );
          })}
        </Table>
      )}
      <Pager pages={pages} what="VM" pageInfo={data?.vms.pageInfo} busy={fetching} />
    </section>
  );
}
