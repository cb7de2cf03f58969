import { type FormEvent, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList, problemsOf } from '../layout/error-list.tsx';
import { type Change, useChange } from '../layout/use-change.ts';

const SNAPSHOTS = graphql(`query VmSnapshots($id: ID!) {
  node(id: $id) { ... on Vm { id snapshots { id name description withMemory createdAt } } } }`);
const SNAPSHOT_CREATE = graphql(`mutation VmSnapshotCreate($input: VmSnapshotCreateInput!) {
  vmSnapshotCreate(input: $input) { snapshot { id } userErrors { code field message } } }`);
const SNAPSHOT_REVERT = graphql(`mutation VmSnapshotRevert($id: ID!) {
  vmSnapshotRevert(input: { id: $id }) { vm { id state } userErrors { code field message } } }`);
const SNAPSHOT_DELETE = graphql(`mutation VmSnapshotDelete($id: ID!) {
  vmSnapshotDelete(input: { id: $id }) { deletedSnapshotId userErrors { code field message } } }`);

/**
 * VmSnapshots lists a VM's snapshots, oldest first, and for operators takes, reverts to and
 * deletes them (a snapshot of a running VM keeps its memory: reverting resumes the guest).
 */
export function VmSnapshots({
  vmId,
  vmName,
  operate,
}: {
  vmId: string;
  vmName: string;
  operate: boolean;
}) {
  const client = useClient();
  const [{ data, error }, reread] = useQuery({ query: SNAPSHOTS, variables: { id: vmId } });
  const [name, setName] = useState('');
  const changes = useChange();
  const { busy, problems } = changes;
  const snapshots = data?.node && 'snapshots' in data.node ? data.node.snapshots : [];
  const run = async (change: Change) => {
    const out = await changes.run(change);
    reread({ requestPolicy: 'network-only' });
    return out;
  };
  const take = async (e: FormEvent) => {
    e.preventDefault();
    const out = await run(async () => {
      const r = await client
        .mutation(SNAPSHOT_CREATE, { input: { vm: vmId, name: name.trim() } })
        .toPromise();
      return problemsOf(r.data?.vmSnapshotCreate.userErrors, r.error);
    });
    if (out.length === 0) setName('');
  };
  return (
    <section aria-labelledby="snapshots-title">
      <h2 id="snapshots-title">Snapshots</h2>
      <ErrorList error={error} userErrors={problems} />
      {snapshots.length === 0 && <p>No snapshots.</p>}
      <ul className="shares">
        {snapshots.map((s) => (
          <li key={s.id} data-snapshot={s.name}>
            <span>
              {s.name} ({new Date(s.createdAt).toLocaleString()}
              {s.withMemory ? ', with memory' : ''})
            </span>
            {operate && (
              <>
                <button
                  type="button"
                  disabled={busy}
                  aria-label={`Revert ${vmName} to ${s.name}`}
                  onClick={() =>
                    void run(async () => {
                      const r = await client.mutation(SNAPSHOT_REVERT, { id: s.id }).toPromise();
                      return problemsOf(r.data?.vmSnapshotRevert.userErrors, r.error);
                    })
                  }
                >
                  Revert
                </button>
                <button
                  type="button"
                  disabled={busy}
                  aria-label={`Delete snapshot ${s.name}`}
                  onClick={() =>
                    void run(async () => {
                      const r = await client.mutation(SNAPSHOT_DELETE, { id: s.id }).toPromise();
                      return problemsOf(r.data?.vmSnapshotDelete.userErrors, r.error);
                    })
                  }
                >
                  Delete
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {operate && (
        <form className="inline-form" onSubmit={take} aria-label={`Take a snapshot of ${vmName}`}>
          <label>
            Snapshot name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit" disabled={busy}>
            Take snapshot
          </button>
        </form>
      )}
    </section>
  );
}
