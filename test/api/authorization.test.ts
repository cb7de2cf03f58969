import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type GqlResult, startTestKumo, type TestKumo } from './support.ts';

// Each case runs an operation about user A (and A's session) as one of four callers and
// classifies the outcome: OK, a top-level UNAUTHENTICATED/FORBIDDEN, or a userErrors code.
type Caller = 'anonymous' | 'self' | 'other' | 'admin';
type Outcome = 'OK' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'REFUSED' | 'INVALID';

interface World {
  readonly tokens: Record<Caller, string | null>;
  readonly a: { readonly id: string; readonly sessionId: string };
}

interface Case {
  readonly name: string;
  readonly run: (k: TestKumo, w: World, token: string | null) => Promise<GqlResult>;
  /** payload is the mutation's field, when its userErrors decide the outcome. */
  readonly payload?: string;
  readonly expected: Record<Caller, Outcome>;
}

const CASES: readonly Case[] = [
  {
    name: 'hosts',
    run: (k, _w, t) => k.gql('{ hosts(first: 5) { edges { node { name } } } }', {}, t),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'OK', other: 'OK', admin: 'OK' },
  },
  {
    name: 'hostAdd',
    payload: 'hostAdd',
    // An admin gets as far as the URI check (no host is reached in this test).
    run: (k, _w, t) =>
      k.gql(
        'mutation { hostAdd(input: {name: "h", uri: "qemu+tcp://192.0.2.1/system"}) { host { id } userErrors { code } } }',
        {},
        t,
      ),
    expected: {
      anonymous: 'UNAUTHENTICATED',
      self: 'FORBIDDEN',
      other: 'FORBIDDEN',
      admin: 'INVALID',
    },
  },
  {
    name: 'localHypervisor',
    run: (k, _w, t) => k.gql('{ localHypervisor { uri } }', {}, t),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: "User A's quota",
    run: (k, w, t) =>
      k.gql(
        'query($id: ID!) { node(id: $id) { ... on User { quota { vms } } } }',
        { id: w.a.id },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'OK', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: 'quotaSet(A)',
    payload: 'quotaSet',
    run: (k, w, t) =>
      k.gql(
        'mutation($id: ID!) { quotaSet(input: {user: $id, vms: 3}) { quota { vms } userErrors { code } } }',
        { id: w.a.id },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: 'viewer',
    run: (k, _w, t) => k.gql('{ viewer { id } }', {}, t),
    expected: { anonymous: 'OK', self: 'OK', other: 'OK', admin: 'OK' },
  },
  {
    name: 'users',
    run: (k, _w, t) => k.gql('{ users(first: 10) { edges { node { email } } } }', {}, t),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: 'node(user A)',
    run: (k, w, t) =>
      k.gql('query($id: ID!) { node(id: $id) { ... on User { email } } }', { id: w.a.id }, t),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'OK', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: "node(A's session)",
    run: (k, w, t) =>
      k.gql(
        'query($id: ID!) { node(id: $id) { ... on Session { createdAt } } }',
        { id: w.a.sessionId },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'OK', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: 'auditEvents',
    run: (k, _w, t) => k.gql('{ auditEvents(first: 1) { edges { node { action } } } }', {}, t),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: 'userCreate',
    payload: 'userCreate',
    run: (k, _w, t) =>
      k.gql(
        `mutation($e: String!) { userCreate(input: {email: $e, password: "new-user-pass"}) { user { id } userErrors { code } } }`,
        { e: `n${Math.random()}@kumo.test` },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: "userUpdate(A's name)",
    payload: 'userUpdate',
    run: (k, w, t) =>
      k.gql(
        'mutation($id: ID!) { userUpdate(input: {id: $id, name: "Renamed"}) { user { name } userErrors { code } } }',
        { id: w.a.id },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'OK', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: "userUpdate(A's admin flag)",
    payload: 'userUpdate',
    run: (k, w, t) =>
      k.gql(
        'mutation($id: ID!) { userUpdate(input: {id: $id, isAdmin: true}) { user { isAdmin } userErrors { code } } }',
        { id: w.a.id },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: 'userRemove(A)',
    payload: 'userRemove',
    run: (k, w, t) =>
      k.gql(
        'mutation($id: ID!) { userRemove(input: {id: $id}) { removedUserId userErrors { code } } }',
        { id: w.a.id },
        t,
      ),
    expected: { anonymous: 'UNAUTHENTICATED', self: 'FORBIDDEN', other: 'FORBIDDEN', admin: 'OK' },
  },
  {
    name: "sessionDelete(A's session)",
    payload: 'sessionDelete',
    run: (k, w, t) =>
      k.gql(
        'mutation($id: ID!) { sessionDelete(input: {id: $id}) { deletedSessionId userErrors { code } } }',
        { id: w.a.sessionId },
        t,
      ),
    // Another user learns nothing: the session might as well not exist.
    expected: { anonymous: 'UNAUTHENTICATED', self: 'OK', other: 'NOT_FOUND', admin: 'OK' },
  },
];

function outcome(r: GqlResult, payload: string | undefined): Outcome | string {
  const code = r.errors?.[0]?.extensions?.code;
  if (code) return code;
  const p = payload
    ? (r.data?.[payload] as { userErrors?: Array<{ code: string }> } | undefined)
    : undefined;
  return p?.userErrors?.[0]?.code ?? 'OK';
}

describe('authorization matrix', () => {
  let k: TestKumo;
  let admin: string;
  let n = 0;
  beforeAll(async () => {
    k = await startTestKumo({ signInAttempts: 1000 });
    admin = await k.signIn(ADMIN.email, ADMIN.password);
  });
  afterAll(() => k.stop());

  // A fresh A and B per case, so no case depends on what another did.
  async function world(): Promise<World> {
    n++;
    for (const who of ['a', 'b']) {
      await k.gql(
        `mutation { userCreate(input: {email: "${who}${n}@kumo.test", password: "${who}-password-${n}"}) { user { id } } }`,
        {},
        admin,
      );
    }
    const a = await k.gql<{
      sessionCreate: { token: string; session: { id: string }; user: { id: string } };
    }>(
      `mutation { sessionCreate(input: {email: "a${n}@kumo.test", password: "a-password-${n}"}) { token session { id } user { id } } }`,
    );
    const signedIn = a.data?.sessionCreate;
    if (!signedIn) throw new Error(`no sign-in: ${JSON.stringify(a)}`);
    const b = await k.signIn(`b${n}@kumo.test`, `b-password-${n}`);
    return {
      tokens: { anonymous: null, self: signedIn.token, other: b, admin },
      a: { id: signedIn.user.id, sessionId: signedIn.session.id },
    };
  }

  for (const c of CASES) {
    it(`${c.name}: ${Object.entries(c.expected)
      .map(([who, o]) => `${who} ${o}`)
      .join(', ')}`, async () => {
      const got: Record<string, string> = {};
      for (const caller of Object.keys(c.expected) as Caller[]) {
        const w = await world();
        got[caller] = outcome(await c.run(k, w, w.tokens[caller]), c.payload);
      }
      expect(got).toEqual(c.expected);
    });
  }
});
