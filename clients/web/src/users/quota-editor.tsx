import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql, type ResultOf, type VariablesOf } from '../../../graphql/graphql.ts';
import { sizeOf, sizeText } from '../../../values/units.ts';
import { ErrorList, type ShownError } from '../layout/error-list.tsx';

const QUOTA = graphql(`query UserQuota($id: ID!) {
  node(id: $id) { ... on User { id email quota {
    vms runningVms vcpus memoryBytes diskBytes images imageBytes snapshots
    cpuSeconds diskReadBytes diskWriteBytes netRxBytes netTxBytes
  } } } }`);
const QUOTA_SET = graphql(`mutation QuotaSet($input: QuotaSetInput!) {
  quotaSet(input: $input) { quota { updatedAt } userErrors { code field message } } }`);

/** Field is one limit of a quota, as quotaSet names it. */
type Field = Exclude<keyof VariablesOf<typeof QUOTA_SET>['input'], 'user'>;

// Each limit, as people type it: a count, a size (2G), or CPU time in seconds.
const FIELDS: ReadonlyArray<{ field: Field; label: string; kind: 'count' | 'size' | 'bigcount' }> =
  [
    { field: 'vms', label: 'VMs', kind: 'count' },
    { field: 'runningVms', label: 'Running VMs', kind: 'count' },
    { field: 'vcpus', label: 'vCPUs', kind: 'count' },
    { field: 'memoryBytes', label: 'Memory', kind: 'size' },
    { field: 'diskBytes', label: 'Disk', kind: 'size' },
    { field: 'images', label: 'Images', kind: 'count' },
    { field: 'imageBytes', label: 'Image storage', kind: 'size' },
    { field: 'snapshots', label: 'Snapshots', kind: 'count' },
    { field: 'cpuSeconds', label: 'CPU seconds per window', kind: 'bigcount' },
    { field: 'diskReadBytes', label: 'Disk reads per window', kind: 'size' },
    { field: 'diskWriteBytes', label: 'Disk writes per window', kind: 'size' },
    { field: 'netRxBytes', label: 'Network in per window', kind: 'size' },
    { field: 'netTxBytes', label: 'Network out per window', kind: 'size' },
  ];

/**
 * QuotaEditor sets a user's limits; an empty field is no limit. Sizes are typed as the CLI
 * takes them (512M, 2G).
 */
export function QuotaEditor({ userId, onClose }: { userId: string; onClose: () => void }) {
  const [{ data }] = useQuery({ query: QUOTA, variables: { id: userId } });
  const user = data?.node && 'quota' in data.node ? data.node : null;
  return user ? <QuotaForm user={user} onClose={onClose} /> : null;
}

type QuotaUser = Extract<NonNullable<ResultOf<typeof QUOTA>['node']>, { quota: unknown }>;

// The form starts from the quota as read, each limit written as it is typed.
function QuotaForm({ user, onClose }: { user: QuotaUser; onClose: () => void }) {
  const userId = user.id;
  const [result, setQuota] = useMutation(QUOTA_SET);
  const [values, setValues] = useState(() => {
    const shown: Partial<Record<Field, string>> = {};
    for (const { field, kind } of FIELDS) {
      const v = user.quota[field];
      shown[field] = v == null ? '' : kind === 'size' ? sizeText(v) : String(v);
    }
    return shown;
  });
  const [problems, setProblems] = useState<readonly ShownError[]>([]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input: Record<string, string | number | null> = { user: userId };
    const bad: ShownError[] = [];
    for (const { field, label, kind } of FIELDS) {
      const text = (values[field] ?? '').trim();
      if (text === '') input[field] = null;
      else if (kind === 'size') {
        const size = sizeOf(text);
        if (size === null)
          bad.push({ code: 'BAD_INPUT', message: `${label}: not a size (${text})` });
        else input[field] = String(size);
      } else if (/^\d+$/.test(text)) input[field] = kind === 'count' ? Number(text) : text;
      else bad.push({ code: 'BAD_INPUT', message: `${label}: not a whole number (${text})` });
    }
    setProblems(bad);
    if (bad.length > 0) return;
    const r = await setQuota({ input: input as Parameters<typeof setQuota>[0]['input'] });
    if (r.data?.quotaSet.quota) onClose();
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="quota-title">
      <h2 id="quota-title">Quota of {user.email}</h2>
      <p className="hint">Empty: no limit. Sizes as 512M, 20G, 1T.</p>
      <div className="row">
        {FIELDS.map(({ field, label }) => (
          <label key={field}>
            {label}
            <input
              value={values[field] ?? ''}
              onChange={(e) => setValues((v) => ({ ...v, [field]: e.target.value }))}
            />
          </label>
        ))}
      </div>
      <ErrorList
        error={result.error}
        userErrors={[...problems, ...(result.data?.quotaSet.userErrors ?? [])]}
      />
      <div className="actions">
        <button type="submit" disabled={result.fetching}>
          Save quota
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
