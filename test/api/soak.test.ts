import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Host } from '../../src/entities/host.ts';
import type { HostId, UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { type FleetHost, planFleet, removeFleet, writeFleet } from '../fleet/fleet.ts';
import { seedFleetVms } from '../fleet/seed.ts';
import { forceGc } from '../support/gc.ts';
import { rig } from '../support/rig.ts';
import { until } from '../support/wait.ts';
import {
  ADMIN,
  addUser,
  type GqlResult,
  startTestKumo,
  subscriber,
  type TestKumo,
  tlsCredentialsInput,
} from './support.ts';

// A soak: many clients for minutes against one controller over a simulated fleet (test/fleet,
// so VMs suspend and resume for real in libvirt's test driver and raise real events): users
// reading pages, nodes, quotas and usage, suspending and resuming their VMs, renaming and sharing
// them; subscribers following states, operations and quotas, some leaving and coming back all
// the time. It stops by itself after KUMO_SOAK_SECONDS (180). Then: no request failed, every
// subscriber heard events, and once the clients are gone the controller holds no more memory
// than a stated bound above where it was after warming up, no more file descriptors, and no
// subscription listeners.
const SECONDS = Number(process.env.KUMO_SOAK_SECONDS ?? 180);
const USERS = 8;
const VMS_PER_USER = 4;
const SUBSCRIBERS = 40;
// What the controller (with the clients, in this process) may keep beyond its warmed-up heap.
const HEAP_GROWTH_BOUND = 48 * 2 ** 20;

let k: TestKumo;
let fleet: FleetHost[];
const users: Array<{ name: string; token: string; vms: string[] }> = [];
const collect = forceGc();

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

// Idle keep-alive connections (client and server ends are both in this process) close within
// the server's 5 s keep-alive time-out: the count is read once it is down to `bound`, or after.
async function fdsDownTo(bound: number): Promise<number> {
  await until(async () => (openFds() <= bound ? true : undefined), 10_000, 'fds').catch(
    () => undefined,
  );
  return openFds();
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collect();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

beforeAll(async () => {
  const r = rig();
  fleet = planFleet({
    rigHosts: r.hosts.slice(0, 1),
    hosts: 4,
    vms: USERS * VMS_PER_USER,
    prefix: `soak-${process.pid}`,
  });
  writeFleet(r.dir, fleet);
  k = await startTestKumo(
    { signInAttempts: 10_000 },
    { overrides: { drivers: { packages: [resolve(import.meta.dirname, '../fleet/driver.ts')] } } },
  );
  const admin = await k.signIn(ADMIN.email, ADMIN.password);
  for (const h of fleet) {
    const added = await k.gql<{ hostAdd: { host: { id: string } | null } }>(
      'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
      { input: { name: h.name, uri: h.uri, credentials: tlsCredentialsInput(r.pki.clientDir) } },
      admin,
    );
    if (!added.data?.hostAdd.host) throw new Error(`adding ${h.name}: ${JSON.stringify(added)}`);
  }
  for (let i = 0; i < USERS; i++) {
    const name = `soak${i}`;
    users.push({ name, token: await addUser(k, admin, name), vms: [] });
  }
  const em = k.kumo.db.fork();
  const rows = await em.find(User, { email: { $like: 'soak%@kumo.test' } });
  const idOf = new Map(rows.map((u) => [u.email, u.id as UserId]));
  const hostIds = new Map((await em.find(Host, {})).map((h) => [h.name, h.id as HostId]));
  await seedFleetVms(
    em,
    fleet,
    hostIds,
    (i) => idOf.get(`soak${Math.floor(i / VMS_PER_USER)}@kumo.test`) as UserId,
  );
  for (const u of users) {
    const page = await k.gql<{ vms: { edges: Array<{ node: { id: string } }> } }>(
      '{ vms(first: 100) { edges { node { id } } } }',
      {},
      u.token,
    );
    u.vms.push(...(page.data?.vms.edges.map((e) => e.node.id) ?? []));
    if (u.vms.length !== VMS_PER_USER) throw new Error(`${u.name} sees ${u.vms.length} VMs`);
  }
}, 180_000);

afterAll(async () => {
  await k?.stop();
  if (fleet) removeFleet(rig().dir, fleet);
});

describe('a soak', () => {
  it(
    `keeps answering for ${SECONDS} s of mixed load, and gives back what the clients took`,
    async () => {
      const failures: string[] = [];
      const check = (what: string, r: GqlResult) => {
        const payloadErrors = Object.values(r.data ?? {}).flatMap((v) =>
          v && typeof v === 'object' && 'userErrors' in v ? (v.userErrors as unknown[]) : [],
        );
        if (r.errors || payloadErrors.length > 0)
          failures.push(`${what}: ${JSON.stringify(r.errors ?? payloadErrors).slice(0, 300)}`);
      };

      // Warm-up: every kind of request once, then the baseline.
      for (const u of users)
        for (let i = 0; i < STEPS.length; i++) check('warm-up', await requestOf(u, i));
      const heap0 = await settledHeap();
      const fds0 = openFds();

      const deadline = Date.now() + SECONDS * 1000;
      let requests = 0;
      const loops = users.map(async (u) => {
        for (let i = 0; Date.now() < deadline; i++) {
          const r = await requestOf(u, i);
          requests++;
          check(`${u.name} request ${i % STEPS.length}`, r);
          await sleep(10);
        }
      });
      const heard: number[] = Array.from({ length: SUBSCRIBERS }, () => 0);
      const followers = Array.from({ length: SUBSCRIBERS }, async (_, n) => {
        const u = users[n % USERS] as (typeof users)[number];
        while (Date.now() < deadline) {
          const client: Client = subscriber(k, u.token);
          const stops = [
            'subscription { vmStateChanged { state } }',
            'subscription { operationUpdated { status } }',
            'subscription { quotaUsageChanged { limit } }',
          ].map((query) =>
            client.subscribe(
              { query },
              {
                next: (v) => {
                  if (v.errors) failures.push(`subscriber ${n}: ${JSON.stringify(v.errors)}`);
                  else heard[n] = (heard[n] ?? 0) + 1;
                },
                error: (err) => failures.push(`subscriber ${n}: ${JSON.stringify(err)}`),
                complete: () => undefined,
              },
            ),
          );
          // Each stays 10-30 s, then leaves (sometimes without unsubscribing) and comes back.
          await sleep(Math.min(10_000 + ((n * 7919) % 20_000), Math.max(0, deadline - Date.now())));
          if (n % 2 === 0) for (const stop of stops) stop();
          await client.dispose();
        }
      });
      await Promise.all([...loops, ...followers]);

      expect(failures.slice(0, 10)).toEqual([]);
      expect(requests).toBeGreaterThan(SECONDS * 10);
      expect(heard.filter((n) => n === 0)).toEqual([]);

      // Everything the clients held is let go of.
      const topics = ['vmStateChanged', 'operationUpdated', 'quotaUsageTouched'] as const;
      const listening = () => topics.some((topic) => k.kumo.events.listeners(topic) > 0);
      await until(async () => (listening() ? undefined : true), 10_000, 'no listener').catch(
        () => undefined,
      );
      for (const topic of topics) expect(k.kumo.events.listeners(topic), topic).toBe(0);
      const heap = await settledHeap();
      const fds = await fdsDownTo(fds0 + 2);
      console.log(
        `soak: ${requests} requests in ${SECONDS} s, ${heard.reduce((a, b) => a + b, 0)} events heard; heap ${(heap0 / 2 ** 20).toFixed(1)} → ${(heap / 2 ** 20).toFixed(1)} MiB; fds ${fds0} → ${fds}`,
      );
      expect(heap - heap0).toBeLessThan(HEAP_GROWTH_BOUND);
      expect(fds - fds0).toBeLessThanOrEqual(2);
    },
    (SECONDS + 120) * 1000,
  );
});

// A user's loop, request by request: queries, and mutations on the user's own VMs that always
// succeed (suspend then resume the same VM, a new description, a share given then taken back).
type Step = (on: { vm: string; other: string; i: number }) => [string, Record<string, unknown>];
const STEPS: readonly Step[] = [
  () => ['{ vms(first: 20) { edges { node { id name state host { name } } } } }', {}],
  ({ vm }) => [
    'mutation($id: ID!) { vmSuspend(input: {id: $id}) { vm { state } userErrors { code message } } }',
    { id: vm },
  ],
  ({ vm }) => [
    'query($id: ID!) { node(id: $id) { ... on Vm { name state description shares { role } } } }',
    { id: vm },
  ],
  ({ vm }) => [
    'mutation($id: ID!) { vmResume(input: {id: $id}) { vm { state } userErrors { code message } } }',
    { id: vm },
  ],
  ({ vm, i }) => [
    'mutation($id: ID!, $d: String!) { vmUpdate(input: {id: $id, description: $d}) { vm { id } userErrors { code message } } }',
    { id: vm, d: `soaked ${i}` },
  ],
  ({ vm, other }) => [
    'mutation($id: ID!, $e: String!) { vmShare(input: {id: $id, email: $e, role: VIEWER}) { userErrors { code message } } }',
    { id: vm, e: other },
  ],
  () => {
    const now = Date.now();
    return [
      'query($from: DateTime!, $to: DateTime!) { quotaUsage { limit used } usage(from: $from, to: $to) { total { cpuSeconds } } viewer { email } }',
      { from: new Date(now - 3600_000).toISOString(), to: new Date(now).toISOString() },
    ];
  },
  ({ vm, other }) => [
    'mutation($id: ID!, $e: String!) { vmUnshare(input: {id: $id, email: $e}) { userErrors { code message } } }',
    { id: vm, e: other },
  ],
];

function requestOf(u: (typeof users)[number], i: number): Promise<GqlResult> {
  const vm = u.vms[Math.floor(i / STEPS.length) % u.vms.length] as string;
  const next = users[(users.indexOf(u) + 1) % users.length] as (typeof users)[number];
  const [query, variables] = (STEPS[i % STEPS.length] as Step)({
    vm,
    other: `${next.name}@kumo.test`,
    i,
  });
  return k.gql(query, variables, u.token);
}
