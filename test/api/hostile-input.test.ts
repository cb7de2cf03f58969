import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { buildSchema, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Host } from '../../src/entities/host.ts';
import type { HostId, UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { type FleetHost, planFleet, removeFleet, writeFleet } from '../fleet/fleet.ts';
import { seedFleetVms } from '../fleet/seed.ts';
import { rig } from '../support/rig.ts';
import { argumentsOf, selectionOf, strayIds } from './hostile-values.ts';
import {
  ADMIN,
  addUser,
  startTestKumo,
  subscriber,
  type TestKumo,
  tlsCredentialsInput,
} from './support.ts';

// Every query, mutation and subscription of schema.graphql, called with arguments generated from
// its own input types (well-typed but hostile inside, or of the wrong type), as an admin and as a
// user, against a controller over a small simulated fleet (test/fleet) so that ids lead to real
// rows and hosts. Whatever comes in, the answer is a clean error or a result: never a 5xx, never
// an error masked as "Unexpected error." (which means a resolver threw something unplanned).
// Then documents hostile in their shape: deep, wide, aliased, cyclic, huge, malformed.

const schema = buildSchema(
  readFileSync(resolve(import.meta.dirname, '../../schema.graphql'), 'utf8'),
);
const RUNS = Number(process.env.KUMO_HOSTILE_RUNS ?? 12);
// Printed, so that a failing run can be replayed: KUMO_HOSTILE_SEED=<seed>.
const SEED = Number(process.env.KUMO_HOSTILE_SEED ?? Date.now() % 2 ** 31);
const MASKED = 'Unexpected error.';

// Fields that dial addresses given to them (nothing but the rig may be dialled), or that end the
// caller's own session.
const DIALS = new Set(['hostAdd', 'imageImport', 'imageListSubscribe', 'sessionDelete']);

let k: TestKumo;
let fleet: FleetHost[];
const tokens: Record<'admin' | 'user', string> = { admin: '', user: '' };
let ids: string[] = [];

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function post(body: string, token: string | null, headers: Record<string, string> = {}) {
  const res = await fetch(k.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, text: await res.text() } satisfies Answer;
}

/** fault says what is wrong with an answer, or null for a clean result or a clean error. */
function fault(a: Answer): string | null {
  if (a.status >= 500) return `HTTP ${a.status}: ${a.text.slice(0, 500)}`;
  let body: { data?: unknown; errors?: Array<{ message: string }> };
  try {
    body = JSON.parse(a.text);
  } catch {
    return `HTTP ${a.status}, not JSON: ${a.text.slice(0, 200)}`;
  }
  if (body.errors?.some((e) => e.message === MASKED))
    return `masked error: ${a.text.slice(0, 500)}`;
  if (body.data === undefined && !body.errors?.length)
    return `neither data nor errors: ${a.text.slice(0, 200)}`;
  return null;
}

function documentOf(
  kind: 'query' | 'mutation' | 'subscription',
  f: GraphQLField<unknown, unknown>,
) {
  const vars = f.args.map((a, i) => `$a${i}: ${String(a.type)}`).join(', ');
  const args = f.args.map((a, i) => `${a.name}: $a${i}`).join(', ');
  return `${kind}${vars ? `(${vars})` : ''} { ${f.name}${args ? `(${args})` : ''} ${selectionOf(f.type, 2)} }`;
}

function fields(kind: 'query' | 'mutation' | 'subscription') {
  const root = {
    query: schema.getQueryType(),
    mutation: schema.getMutationType(),
    subscription: schema.getSubscriptionType(),
  }[kind];
  return Object.values(root?.getFields() ?? {}).filter((f) => !DIALS.has(f.name));
}

beforeAll(async () => {
  console.log(`hostile-input: KUMO_HOSTILE_SEED=${SEED}`);
  const r = rig();
  fleet = planFleet({
    rigHosts: r.hosts.slice(0, 1),
    hosts: 2,
    vms: 12,
    prefix: `hi-${process.pid}`,
  });
  writeFleet(r.dir, fleet);
  k = await startTestKumo(
    { signInAttempts: 1000 },
    { overrides: { drivers: { packages: [resolve(import.meta.dirname, '../fleet/driver.ts')] } } },
  );
  tokens.admin = await k.signIn(ADMIN.email, ADMIN.password);
  for (const h of fleet) {
    const added = await k.gql<{ hostAdd: { host: { id: string } | null } }>(
      'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
      { input: { name: h.name, uri: h.uri, credentials: tlsCredentialsInput(r.pki.clientDir) } },
      tokens.admin,
    );
    if (!added.data?.hostAdd.host) throw new Error(`adding ${h.name}: ${JSON.stringify(added)}`);
  }
  tokens.user = await addUser(k, tokens.admin, 'hostile');
  await addUser(k, tokens.admin, 'bystander');
  const em = k.kumo.db.fork();
  const users = await em.find(User, {
    email: { $in: ['hostile@kumo.test', 'bystander@kumo.test'] },
  });
  const userId = (email: string) => users.find((u) => u.email === email)?.id as UserId;
  const hostIds = new Map((await em.find(Host, {})).map((h) => [h.name, h.id as HostId]));
  // Half the VMs are the acting user's, half a bystander's.
  await seedFleetVms(em, fleet, hostIds, (i) =>
    userId(i % 2 === 0 ? 'hostile@kumo.test' : 'bystander@kumo.test'),
  );
  const known = await k.gql<{
    vms: { edges: Array<{ node: { id: string } }> };
    hosts: { edges: Array<{ node: { id: string } }> };
    users: { edges: Array<{ node: { id: string; email: string } }> };
  }>(
    '{ vms(first: 100) { edges { node { id } } } hosts(first: 10) { edges { node { id } } } users(first: 10) { edges { node { id email } } } }',
    {},
    tokens.admin,
  );
  if (!known.data) throw new Error(JSON.stringify(known.errors));
  // The acting users' own ids are left out: a password set at random would end their sessions.
  ids = [
    ...known.data.vms.edges.map((e) => e.node.id),
    ...known.data.hosts.edges.map((e) => e.node.id),
    ...known.data.users.edges
      .filter((e) => e.node.email === 'bystander@kumo.test')
      .map((e) => e.node.id),
    ...strayIds(['Vm', 'Host', 'User', 'Image', 'Operation', 'Snapshot', 'Execution', 'Endorser']),
  ];
}, 120_000);

afterAll(async () => {
  await k?.stop();
  if (fleet) removeFleet(rig().dir, fleet);
});

describe.each(['admin', 'user'] as const)('hostile arguments, as %s', (actor) => {
  for (const kind of ['query', 'mutation'] as const) {
    for (const f of fields(kind)) {
      it(`${kind} ${f.name}`, async () => {
        const query = documentOf(kind, f);
        await fc.assert(
          fc.asyncProperty(argumentsOf(f.args, ids), async (variables) => {
            const problem = fault(await post(JSON.stringify({ query, variables }), tokens[actor]));
            if (problem) throw new Error(problem);
          }),
          // A hang would be shrunk request by request, each waiting for its time-out.
          { numRuns: RUNS, seed: SEED, endOnFailure: true },
        );
      }, 120_000);
    }
  }

  it('subscriptions: each refused cleanly or listening', async () => {
    const client = subscriber(k, tokens[actor]);
    try {
      for (const f of fields('subscription')) {
        const query = documentOf('subscription', f);
        await fc.assert(
          fc.asyncProperty(argumentsOf(f.args, ids), async (variables) => {
            const problem = await new Promise<string | null>((done) => {
              const timer = setTimeout(() => {
                stop();
                done(null);
              }, 300);
              const stop = client.subscribe(
                { query, variables },
                {
                  next: (v) => {
                    if (v.errors?.some((e) => e.message === MASKED)) {
                      clearTimeout(timer);
                      done(`${f.name}: masked error ${JSON.stringify(v.errors)}`);
                    }
                  },
                  error: (err) => {
                    clearTimeout(timer);
                    const errors = Array.isArray(err) ? err : [err];
                    const masked = errors.some(
                      (e) => (e as { message?: string }).message === MASKED,
                    );
                    done(masked ? `${f.name}: masked error ${JSON.stringify(errors)}` : null);
                  },
                  complete: () => {
                    clearTimeout(timer);
                    done(null);
                  },
                },
              );
            });
            if (problem) throw new Error(problem);
          }),
          { numRuns: Math.ceil(RUNS / 2), seed: SEED, endOnFailure: true },
        );
      }
    } finally {
      await client.dispose();
    }
  }, 300_000);
});

describe('hostile documents', () => {
  const ask = (query: string, variables: Record<string, unknown> = {}) =>
    post(JSON.stringify({ query, variables }), tokens.admin);
  const refusedCleanly = (a: Answer) => {
    expect(fault(a)).toBeNull();
    expect(JSON.parse(a.text).errors?.length ?? 0).toBeGreaterThan(0);
  };

  it('refuses documents too deep, too wide, too long, or with too many aliases or directives', async () => {
    const refused = async (query: string, why: RegExp) => {
      const a = await ask(query);
      expect(fault(a)).toBeNull();
      expect(JSON.parse(a.text).errors?.[0]?.message, query.slice(0, 80)).toMatch(why);
    };
    await refused(`{ ${'viewer { '.repeat(5000)}id${' }'.repeat(5000)} }`, /Token limit/);
    await refused(`{ viewer { ${'id '.repeat(3000)}} }`, /Token limit/);
    await refused(`{ ${'v: viewer { id } '.repeat(600)} }`, /Token limit/);
    const aliases = Array.from(
      { length: 25 },
      (_, i) => `v${i}: vms(first: 100) { edges { node { id } } }`,
    );
    await refused(`{ ${aliases.join(' ')} }`, /Aliases limit/);
    await refused(`{ viewer { id ${'@include(if: true) '.repeat(60)}} }`, /Directives limit/);
    // Vm.snapshots.vm loops: 7 turns are 17 levels, past the depth limit of 12, and lists within
    // lists (the cost limit says so first).
    await refused(
      `{ vms(first: 100) { edges { node { ${'snapshots { vm { '.repeat(7)}id${' } }'.repeat(7)} } } } }`,
      /depth limit|Cost limit/,
    );
    // Introspection is not counted in depth, and its own nesting is finite.
    const introspection = await ask(
      `{ __schema { types { fields { type { ${'ofType { '.repeat(10)}name${' }'.repeat(10)} } } } } }`,
    );
    expect(fault(introspection)).toBeNull();
  });

  it('refuses fragment cycles and fragments that nest past the depth limit', async () => {
    refusedCleanly(await ask('{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }'));
    refusedCleanly(await ask('{ ...A } fragment A on Query { viewer { id } ...A }'));
    const chain = Array.from(
      { length: 40 },
      (_, i) => `fragment F${i} on Query { ...F${i + 1} }`,
    ).join(' ');
    refusedCleanly(await ask(`{ ...F0 } ${chain} fragment F40 on Query { viewer { id } }`));
    const nodes = Array.from({ length: 30 }, () => 'node(id: "x") { ... on Vm { host { id ').join(
      '',
    );
    refusedCleanly(await ask(`{ ${nodes}${' } } }'.repeat(30)} }`));
  });

  it('answers the heaviest document within the limits, and a 900 KB string argument', async () => {
    const page = 'edges { node { id name state host { name state } owner { email } } }';
    const aliases = Array.from({ length: 20 }, (_, i) => `v${i}: vms(first: 100) { ${page} }`).join(
      ' ',
    );
    expect(fault(await ask(`{ ${aliases} }`))).toBeNull();
    const huge = await ask(
      'query($s: String) { users(first: 5, search: $s) { edges { node { id } } } }',
      {
        s: 'x'.repeat(900_000),
      },
    );
    expect(fault(huge)).toBeNull();
  });

  it('refuses bodies over the limit, malformed JSON, batches, and wrong media', async () => {
    const big = await post(
      JSON.stringify({ query: `{ viewer { id } } # ${'x'.repeat(2 << 20)}` }),
      tokens.admin,
    );
    expect(big.status).toBe(413);
    for (const body of [
      '{',
      '[]',
      'null',
      '"x"',
      '{"query": 5}',
      '{"query": "{ viewer { id } }", "variables": "x"}',
    ]) {
      const a = await post(body, tokens.admin);
      expect(a.status, body).toBeGreaterThanOrEqual(400);
      expect(a.status, body).toBeLessThan(500);
    }
    const batch = await post(
      JSON.stringify([{ query: '{ viewer { id } }' }, { query: '{ viewer { id } }' }]),
      tokens.admin,
    );
    expect(batch.status).toBeGreaterThanOrEqual(400);
    expect(batch.status).toBeLessThan(500);
    const xml = await post('<query/>', tokens.admin, { 'content-type': 'application/xml' });
    expect(xml.status).toBeGreaterThanOrEqual(400);
    expect(xml.status).toBeLessThan(500);
  });

  it('refuses a mutation over GET and a subscription over plain HTTP', async () => {
    const url = new URL(k.url);
    url.searchParams.set('query', 'mutation { sessionDelete { deletedSessionId } }');
    const get = await fetch(url, { headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(get.status).toBe(405);
    await get.text();
    const sub = await post(
      JSON.stringify({ query: 'subscription { vmStateChanged { __typename } }' }),
      tokens.admin,
    );
    expect(fault(sub)).toBeNull();
    expect(JSON.parse(sub.text).errors?.[0]?.message).toMatch(/over the WebSocket/);
  });

  it('still answers after all of it', async () => {
    const r = await k.gql<{ viewer: { email: string } }>('{ viewer { email } }', {}, tokens.admin);
    expect(r.data?.viewer.email).toBe(ADMIN.email);
  });
});
