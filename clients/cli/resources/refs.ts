import { graphql } from '../../graphql/graphql.ts';
import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { decodeId } from './ids.ts';
import { allPages, PAGE } from './pages.ts';

/** RefKind is a kind of resource people name on the command line. */
export type RefKind = 'vm' | 'image' | 'host' | 'user' | 'operation';

/** Ref is a resource's id and the name people know it by (a user's email). */
export interface Ref {
  readonly id: string;
  readonly name: string;
}

const TYPE: Record<RefKind, string> = {
  vm: 'Vm',
  image: 'Image',
  host: 'Host',
  user: 'User',
  operation: 'Operation',
};

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';
const VMS = graphql(`query VmRefs($after: String, $first: Int!) {
  vms(first: $first, after: $after) { edges { node { id name } } ${PAGE_INFO} } }`);
const IMAGES = graphql(`query ImageRefs($after: String, $first: Int!) {
  images(first: $first, after: $after) { edges { node { id name } } ${PAGE_INFO} } }`);
const HOSTS = graphql(`query HostRefs($after: String, $first: Int!) {
  hosts(first: $first, after: $after) { edges { node { id name } } ${PAGE_INFO} } }`);
const USERS = graphql(`query UserRefs($after: String, $first: Int!) {
  users(first: $first, after: $after) { edges { node { id name: email } } ${PAGE_INFO} } }`);
const OPERATIONS = graphql(`query OperationRefs($after: String, $first: Int!) {
  operations(first: $first, after: $after) { edges { node { id name: kind } } ${PAGE_INFO} } }`);

/** listRefs lists every resource of a kind the caller may see, by id and name. */
export function listRefs(api: Api, kind: RefKind): Promise<Ref[]> {
  const vars = (after: string | null) => ({ after, first: PAGE });
  switch (kind) {
    case 'vm':
      return allPages(async (after) => (await api.request(VMS, vars(after))).vms);
    case 'image':
      return allPages(async (after) => (await api.request(IMAGES, vars(after))).images);
    case 'host':
      return allPages(async (after) => (await api.request(HOSTS, vars(after))).hosts);
    case 'user':
      return allPages(async (after) => (await api.request(USERS, vars(after))).users);
    case 'operation':
      return allPages(async (after) => (await api.request(OPERATIONS, vars(after))).operations);
  }
}

/**
 * resolveRef turns what someone typed into a global id: the id itself, a name (an email for
 * users), or the start of the raw id (4 characters at least), each refused when ambiguous.
 */
export async function resolveRef(api: Api, kind: RefKind, typed: string): Promise<string> {
  const [id] = await resolveRefs(api, kind, [typed]);
  return id as string;
}

/** resolveRefs resolves several at once, as resolveRef does, listing the resources once. */
export async function resolveRefs(
  api: Api,
  kind: RefKind,
  typed: readonly string[],
): Promise<string[]> {
  const ids = (t: string) => (decodeId(t)?.type === TYPE[kind] ? t : null);
  const refs = typed.every(ids) ? [] : await listRefs(api, kind);
  return typed.map((t) => ids(t) ?? match(refs, kind, t));
}

function match(refs: readonly Ref[], kind: RefKind, typed: string): string {
  const byName = refs.filter((r) => r.name === typed);
  const byId =
    typed.length >= 4
      ? refs.filter((r) => decodeId(r.id)?.raw.startsWith(typed.toLowerCase()))
      : [];
  const found = byName.length > 0 ? byName : byId;
  if (found.length === 1) return (found[0] as Ref).id;
  if (found.length > 1)
    throw new CliError('USAGE', `${found.length} ${kind}s match ${typed}`, {
      hint: 'use a longer id (see the ID column, or --json)',
    });
  throw new CliError('NOT_FOUND', `no ${kind} ${typed}`, { hint: `see \`kumo ${kind} ls\`` });
}
