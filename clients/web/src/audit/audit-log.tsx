import { type FormEvent, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList } from '../layout/error-list.tsx';
import { PAGE, Pager, usePages } from '../layout/pager.tsx';
import { Table } from '../layout/table.tsx';

const AUDIT = graphql(`query AuditEvents($first: Int!, $after: String, $action: String) {
  auditEvents(first: $first, after: $after, action: $action) {
    edges { node {
      id action result createdAt address targetType targetId message actor { email }
    } }
    pageInfo { hasNextPage endCursor }
  } }`);

/** AuditLog is the audit trail for admins, newest first, optionally of one action. */
export function AuditLog() {
  const [typed, setTyped] = useState('');
  const [action, setAction] = useState<string | null>(null);
  const pages = usePages();
  const [{ data, fetching, error }] = useQuery({
    query: AUDIT,
    variables: { first: PAGE, after: pages.after, action },
  });
  const filter = (e: FormEvent) => {
    e.preventDefault();
    setAction(typed.trim() || null);
  };
  const edges = data?.auditEvents.edges ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form className="inline-form" onSubmit={filter} aria-label="Filter the audit log">
        <label>
          Action (e.g. vmCreate)
          <input value={typed} onChange={(e) => setTyped(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorList error={error} />
      {data && edges.length === 0 && <p>Nothing recorded{action ? ` for ${action}` : ''}.</p>}
      {edges.length > 0 && (
        <Table columns={['When', 'Who', 'Action', 'Result', 'Target', 'From', 'Message']}>
          {edges.map(({ node: e }) => (
            <tr key={e.id}>
              <td>{new Date(e.createdAt).toLocaleString()}</td>
              <td>{e.actor?.email ?? '—'}</td>
              <th scope="row">{e.action}</th>
              <td>{e.result}</td>
              <td className="wrap">
                {e.targetType}
                {e.targetId ? ` ${e.targetId}` : ''}
              </td>
              <td>{e.address ?? '—'}</td>
              <td className="wrap">{e.message ?? ''}</td>
            </tr>
          ))}
        </Table>
      )}
      <Pager pages={pages} what="Audit" pageInfo={data?.auditEvents.pageInfo} busy={fetching} />
    </section>
  );
}
