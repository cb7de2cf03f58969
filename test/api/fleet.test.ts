import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Host } from '../../src/entities/host.ts';
import type { HostId, UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { Vm } from '../../src/entities/vm.ts';
import { type FleetHost, planFleet, removeFleet, writeFleet } from '../fleet/fleet.ts';
import { seedFleetVms } from '../fleet/seed.ts';
import { rig } from '../support/rig.ts';
import { within } from '../support/wait.ts';
import {
  ADMIN,
  addUser,
  rawId,
  startTestKumo,
  subscriber,
  type TestKumo,
  tlsCredentialsInput,
} from './support.ts';

// A simulated fleet (test/fleet) under a real controller: 30 hosts, each a libvirt test driver
// connection to a rig libvirtd over TLS, and 600 running VMs, 200 for each of three users.
const HOSTS = 30;
const VMS = 600;
const USERS = ['fleet-a', 'fleet-b', 'fleet-c'];

let k: TestKumo;
let admin: string;
let fleet: FleetHost[];
const tokens = new Map<string, string>();

async function page(token: string, after: string | null) {
  const r = await k.gql<{
    vms: {
      edges: Array<{ node: { id: string; name: string; state: string; host: { name: string } } }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  }>(
    'query($after: String) { vms(first: 100, after: $after) { edges { node { id name state host { name } } } pageInfo { hasNextPage endCursor } } }',
    { after },
    token,
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.vms;
}

async function allNames(token: string): Promise<string[]> {
  const names: string[] = [];
  let after: string | null = null;
  for (;;) {
    const p = await page(token, after);
    names.push(...p.edges.map((e) => e.node.name));
    if (!p.pageInfo.hasNextPage) return names;
    after = p.pageInfo.endCursor;
  }
}

describe('a simulated fleet', () => {
  beforeAll(async () => {
    const r = rig();
    fleet = planFleet({
      rigHosts: r.hosts.slice(0, 2),
      hosts: HOSTS,
      vms: VMS,
      prefix: `ft-${process.pid}`,
    });
    writeFleet(r.dir, fleet);
    k = await startTestKumo(
      {},
      {
        overrides: { drivers: { packages: [resolve(import.meta.dirname, '../fleet/driver.ts')] } },
      },
    );
    admin = await k.signIn(ADMIN.email, ADMIN.password);
    await Promise.all(
      fleet.map(async (h) => {
        const added = await k.gql<{ hostAdd: { host: { id: string } | null } }>(
          'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
          {
            input: { name: h.name, uri: h.uri, credentials: tlsCredentialsInput(r.pki.clientDir) },
          },
          admin,
        );
        if (!added.data?.hostAdd.host)
          throw new Error(`adding ${h.name}: ${JSON.stringify(added)}`);
      }),
    );
    for (const who of USERS) tokens.set(who, await addUser(k, admin, who));
    const em = k.kumo.db.fork();
    const users = await em.find(User, { email: { $in: USERS.map((u) => `${u}@kumo.test`) } });
    const ids = USERS.map((u) => users.find((x) => x.email === `${u}@kumo.test`)?.id as UserId);
    const hostIds = new Map((await em.find(Host, {})).map((h) => [h.name, h.id as HostId]));
    await seedFleetVms(
      em,
      fleet,
      hostIds,
      (i) => ids[Math.floor(i / (VMS / USERS.length))] as UserId,
    );
  }, 120_000);

  afterAll(async () => {
    await k?.stop();
    if (fleet) removeFleet(rig().dir, fleet);
  });

  it('connects every simulated host and finds every VM as recorded', async () => {
    const hosts = await k.gql<{ hosts: { edges: Array<{ node: { state: string } }> } }>(
      'query { hosts(first: 100) { edges { node { state } } } }',
      {},
      admin,
    );
    const states = hosts.data?.hosts.edges.map((e) => e.node.state) ?? [];
    expect(states).toHaveLength(HOSTS);
    expect(new Set(states)).toEqual(new Set(['ONLINE']));

    // A row that drifted from its domain is put right by the next sweep; the others are left.
    const em = k.kumo.db.fork();
    const drifted = await em.findOneOrFail(Vm, { name: `${fleet[3]?.name}-vm-2` });
    await em.nativeUpdate(Vm, { id: drifted.id }, { state: 'STOPPED', stateReason: 'drifted' });
    await k.kumo.vmWatcher.sweepAll();
    const after = await k.kumo.db.fork().find(Vm, {}, { fields: ['state', 'stateReason'] });
    expect(after).toHaveLength(VMS);
    expect(after.filter((v) => v.state !== 'RUNNING')).toEqual([]);
    expect(after.filter((v) => v.stateReason === 'found so on the host')).toHaveLength(1);

    const metrics = await (await fetch(new URL('/metrics', k.url))).text();
    expect(metrics).toMatch(/^kumo_rounds_total\{round="reconcile"\} [1-9]/m);
  });

  it('pages every VM for an admin, and only their own for a user, in name order', async () => {
    const all = await allNames(admin);
    expect(all).toHaveLength(VMS);
    expect(all).toEqual([...all].sort());
    const mine = await allNames(tokens.get('fleet-b') as string);
    expect(mine).toHaveLength(VMS / USERS.length);
    expect(mine).toEqual([...mine].sort());
    expect(new Set(mine).size).toBe(mine.length);
    const theirs = new Set(await allNames(tokens.get('fleet-a') as string));
    expect(mine.filter((n) => theirs.has(n))).toEqual([]);
  });

  it("carries a simulated domain's lifecycle event to a subscriber", async () => {
    const token = tokens.get('fleet-c') as string;
    const vm = (await page(token, null)).edges[0]?.node;
    if (!vm) throw new Error('fleet-c has no VM');
    const client = subscriber(k, token);
    const seen: string[] = [];
    const paused = new Promise<void>((resolve, reject) => {
      client.subscribe<{ vmStateChanged: { state: string } }>(
        {
          query: 'subscription($id: ID) { vmStateChanged(vm: $id) { state } }',
          variables: { id: vm.id },
        },
        {
          next: (r) => {
            seen.push(r.data?.vmStateChanged.state as string);
            if (r.data?.vmStateChanged.state === 'PAUSED') resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    try {
      // Subscribed before the action: graphql-ws acknowledges the subscription only implicitly.
      await new Promise((r) => setTimeout(r, 200));
      const r = await k.gql<{ vmSuspend: { vm: { state: string } | null; userErrors: unknown[] } }>(
        'mutation($id: ID!) { vmSuspend(input: {id: $id}) { vm { state } userErrors { code message } } }',
        { id: vm.id },
        token,
      );
      expect(r.data?.vmSuspend.userErrors).toEqual([]);
      await within(paused, 10_000, 'the PAUSED event');
      expect(seen).toEqual(['PAUSED']);
      const row = await k.kumo.db.fork().findOneOrFail(Vm, { id: rawId(vm.id) as Vm['id'] });
      expect(row.state).toBe('PAUSED');
    } finally {
      await client.dispose();
    }
  });
});
