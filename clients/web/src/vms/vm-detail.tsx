import { lazy, Suspense } from 'react';
import { useClient, useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { bytes } from '../../../values/units.ts';
import { ErrorList, problemsOf } from '../layout/error-list.tsx';
import { StateBadge } from '../layout/state-badge.tsx';
import { navigate } from '../routing/router.tsx';
import { mayAct } from '../session/roles.ts';
import { useViewer } from '../session/viewer.tsx';
import { SharePanel } from '../sharing/share-panel.tsx';
import { useLiveStates } from './live-states.ts';
import { VmActions } from './vm-actions.tsx';
import { VmMetricsCharts } from './vm-metrics.tsx';
import { VmOperations } from './vm-operations.tsx';
import { VmSnapshots } from './vm-snapshots.tsx';

// The terminal and the VNC client are a few hundred KiB each: loaded when a VM's page is first
// shown to someone who may use its consoles, not with the app.
const SerialConsole = lazy(() =>
  import('./serial-console.tsx').then((m) => ({ default: m.SerialConsole })),
);
const GraphicalConsole = lazy(() =>
  import('./graphical-console.tsx').then((m) => ({ default: m.GraphicalConsole })),
);

const VM = graphql(`query Vm($id: ID!) {
  node(id: $id) { ... on Vm {
    id name description state stateReason vcpus maxVcpus memoryBytes maxMemoryBytes diskBytes
    diskUsedBytes ipAddress mac myRole
    host { name } image { name } owner { email }
  } } }`);
const VM_SHARES = graphql(`query VmShares($id: ID!) {
  node(id: $id) { ... on Vm { id shares { role user { email } } } } }`);
const VM_SHARE = graphql(`mutation VmShare($input: VmShareInput!) {
  vmShare(input: $input) { shares { role } userErrors { code field message } } }`);
const VM_UNSHARE = graphql(`mutation VmUnshare($input: VmUnshareInput!) {
  vmUnshare(input: $input) { shares { role } userErrors { code field message } } }`);

/** VmDetail is one VM: its facts and live state, what the viewer may do, who it is shared with. */
export function VmDetail({ id }: { id: string }) {
  const viewer = useViewer();
  const [{ data, error }, reread] = useQuery({ query: VM, variables: { id } });
  const live = useLiveStates(new Set([id]));
  const vm = data?.node && 'name' in data.node ? data.node : null;
  if (!vm) return data ? <p>No such VM.</p> : <ErrorList error={error} />;
  const now = live.states.get(vm.id) ?? { state: vm.state, reason: vm.stateReason };
  return (
    <section aria-labelledby="vm-title">
      <h1 id="vm-title">
        VM {vm.name} <StateBadge state={now.state} reason={now.reason} />
      </h1>
      <VmActions vm={{ ...vm, state: now.state }} onRemoved={() => navigate('/vms')} />
      <VmOperations vmId={vm.id} onEnded={() => reread({ requestPolicy: 'network-only' })} />
      <dl className="facts">
        <dt>vCPUs</dt>
        <dd>
          {vm.vcpus} (up to {vm.maxVcpus} live)
        </dd>
        <dt>Memory</dt>
        <dd>
          {bytes(vm.memoryBytes)} (up to {bytes(vm.maxMemoryBytes)} live)
        </dd>
        <dt>Disk</dt>
        <dd>
          {bytes(vm.diskBytes)}, {bytes(vm.diskUsedBytes)} used on the host
        </dd>
        <dt>Image</dt>
        <dd>{vm.image?.name ?? '—'}</dd>
        <dt>Host</dt>
        <dd>{vm.host?.name ?? '—'}</dd>
        <dt>Address</dt>
        <dd>
          {vm.ipAddress ?? '—'} ({vm.mac})
        </dd>
        <dt>Owner</dt>
        <dd>{vm.owner.email}</dd>
        {vm.description && (
          <>
            <dt>Description</dt>
            <dd>{vm.description}</dd>
          </>
        )}
      </dl>
      {now.state === 'RUNNING' && <VmMetricsCharts vmId={vm.id} />}
      {now.state === 'RUNNING' && mayAct(viewer, vm.myRole, 'OPERATOR') && (
        <Suspense fallback={<p role="status">Loading the consoles…</p>}>
          <SerialConsole vmId={vm.id} vmName={vm.name} />
          <GraphicalConsole vmId={vm.id} vmName={vm.name} />
        </Suspense>
      )}
      <VmSnapshots vmId={vm.id} vmName={vm.name} operate={mayAct(viewer, vm.myRole, 'OPERATOR')} />
      <VmShares id={vm.id} name={vm.name} myRole={vm.myRole} />
    </section>
  );
}

function VmShares({
  id,
  name,
  myRole,
}: {
  id: string;
  name: string;
  myRole: Parameters<typeof mayAct>[1];
}) {
  const viewer = useViewer();
  const client = useClient();
  const own = mayAct(viewer, myRole, 'OWNER');
  const [{ data }, reread] = useQuery({ query: VM_SHARES, variables: { id }, pause: !own });
  if (!own) return null;
  const shares = data?.node && 'shares' in data.node ? data.node.shares : [];
  const refresh = () => reread({ requestPolicy: 'network-only' });
  return (
    <SharePanel
      what={name}
      shares={shares}
      actions={{
        share: async (email, role) => {
          const r = await client.mutation(VM_SHARE, { input: { id, email, role } }).toPromise();
          refresh();
          return problemsOf(r.data?.vmShare.userErrors, r.error);
        },
        unshare: async (email) => {
          const r = await client.mutation(VM_UNSHARE, { input: { id, email } }).toPromise();
          refresh();
          return problemsOf(r.data?.vmUnshare.userErrors, r.error);
        },
      }}
    />
  );
}
