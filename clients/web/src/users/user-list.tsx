import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList } from '../layout/error-list.tsx';
import { PAGE, Pager, usePages } from '../layout/pager.tsx';
import { Table } from '../layout/table.tsx';
import { Link } from '../routing/router.tsx';
import { QuotaEditor } from './quota-editor.tsx';

const USERS = graphql(`query Users($first: Int!, $after: String, $search: String) {
  users(first: $first, after: $after, search: $search) {
    edges { node { id email name isAdmin } }
    pageInfo { hasNextPage endCursor }
  } }`);
const USER_CREATE = graphql(`mutation UserCreate($input: UserCreateInput!) {
  userCreate(input: $input) { user { id } userErrors { code field message } } }`);

/** UserList is the users for admins: search, create, each one's quota and what they used. */
export function UserList() {
  const [search, setSearch] = useState('');
  const pages = usePages();
  const [{ data, fetching, error }, reread] = useQuery({
    query: USERS,
    variables: { first: PAGE, after: pages.after, search: search.trim() || null },
  });
  const [editing, setEditing] = useState<string | null>(null);
  const edges = data?.users.edges ?? [];
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <label>
        Search by email or name
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <ErrorList error={error} />
      {edges.length > 0 && (
        <Table columns={['Email', 'Name', 'Admin', { hidden: 'Quota and usage' }]}>
          {edges.map(({ node: u }) => (
            <tr key={u.id} data-user={u.email}>
              <th scope="row">{u.email}</th>
              <td>{u.name}</td>
              <td>{u.isAdmin ? 'yes' : 'no'}</td>
              <td>
                <button
                  type="button"
                  aria-expanded={editing === u.id}
                  aria-label={`Quota of ${u.email}`}
                  onClick={() => setEditing(editing === u.id ? null : u.id)}
                >
                  Quota
                </button>{' '}
                <Link
                  href={`/users/${encodeURIComponent(u.id)}/usage`}
                  aria-label={`Usage of ${u.email}`}
                >
                  Usage
                </Link>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <Pager pages={pages} what="User" pageInfo={data?.users.pageInfo} busy={fetching} />
      {editing && <QuotaEditor userId={editing} key={editing} onClose={() => setEditing(null)} />}
      <UserCreate onCreated={() => reread({ requestPolicy: 'network-only' })} />
    </section>
  );
}

function UserCreate({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState({ email: '', name: '', password: '', isAdmin: false });
  const [result, create] = useMutation(USER_CREATE);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await create({ input: { ...form, name: form.name || null } });
    if (r.data?.userCreate.user) {
      setForm({ email: '', name: '', password: '', isAdmin: false });
      onCreated();
    }
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="user-create-title">
      <h2 id="user-create-title">Add a user</h2>
      <label>
        Email
        <input
          type="email"
          required
          value={form.email}
          onChange={(e) => setForm({ ...form, email: e.target.value })}
        />
      </label>
      <label>
        Name
        <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="new-password"
          required
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={form.isAdmin}
          onChange={(e) => setForm({ ...form, isAdmin: e.target.checked })}
        />
        Admin
      </label>
      <ErrorList error={result.error} userErrors={result.data?.userCreate.userErrors} />
      <button type="submit" disabled={result.fetching}>
        Add user
      </button>
    </form>
  );
}
