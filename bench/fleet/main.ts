// bench/fleet: one controller over a simulated fleet of thousands of hosts and a hundred
// thousand VMs (test/fleet: libvirt's test driver served by the rig's libvirtd over TLS, each
// simulated host its own connection). The controller is `node src/main.ts` in a child process
// on PostgreSQL, as deployed. Prints: how long adding and connecting the hosts took, the
// reconciler's and the metering collector's rounds over the whole fleet, `vms(first: 100)` for an
// admin and for a user with VMS/USERS VMs under a fixed request rate driven by autocannon
// (latency percentiles and errors), and the controller's memory. Nothing is asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { loadConfig } from '../../src/config/config.ts';
import { Database } from '../../src/db/database.ts';
import { Host } from '../../src/entities/host.ts';
import type { HostId, UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { planFleet, removeFleet, writeFleet } from '../../test/fleet/fleet.ts';
import { seedFleetVms } from '../../test/fleet/seed.ts';
import { createDatabase, dropDatabase, pgUpDetailed, pgUrl } from '../../test/pg/index.ts';
import { rigDown, rigUpDetailed } from '../../test/rig/rig.ts';
import {
  benchGql,
  benchSignIn,
  type ControllerProcess,
  cpuSecondsOf,
  inParallel,
  percentile,
  rssOf,
  scrapeMetrics,
  startControllerProcess,
} from '../controller-process.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 2500);
const VMS = Number(process.env.BENCH_VMS ?? 100_000);
const USERS = Number(process.env.BENCH_USERS ?? 100);
const RIG_HOSTS = Number(process.env.BENCH_RIG_HOSTS ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 300);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const ADD_CONCURRENCY = Number(process.env.BENCH_ADD_CONCURRENCY ?? 32);
// QUIET: no reconcile sweeps or metering rounds (hourly), to measure the pages alone.
const QUIET = process.env.BENCH_QUIET === '1';
// Its own database, so that two runs never meet.
const DB = `kumo_bench_fleet_${process.pid}`;
const ADMIN = { email: 'admin@kumo.bench', password: 'bench-password-1' };
const PASSWORD = 'bench-password-2';

const VMS_PAGE = `query { vms(first: 100) { edges { node { id name state vcpus memoryBytes host { name } } }
  pageInfo { hasNextPage endCursor } } }`;

const { rig, reused: rigReused } = await rigUpDetailed(RIG_HOSTS);
const { server: pg } = await pgUpDetailed();
const dbUrl = pgUrl(pg, DB);
const fleet = planFleet({ rigHosts: rig.hosts.slice(0, RIG_HOSTS), hosts: HOSTS, vms: VMS });
const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-fleet-'));
let controller = null as ControllerProcess | null;

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

async function waitRound(url: string, series: string, after: number): Promise<number> {
  for (;;) {
    const m = await scrapeMetrics(url);
    const count = m.get(`kumo_rounds_total{round="${series}"}`) ?? 0;
    if (count > after) return m.get(`kumo_round_last_seconds{round="${series}"}`) ?? Number.NaN;
    await sleep(1000);
  }
}

interface VmsPage {
  readonly data?: { readonly vms?: { readonly edges: readonly unknown[] } };
  readonly errors?: unknown;
}

interface Load {
  readonly requests: number;
  readonly errors: number;
  readonly rate: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

// RATE requests a second for LOAD_SECONDS over 50 connections; every response's latency is kept,
// and a response is an error unless it is 200 with data and no errors.
async function load(url: string, token: string): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: 50,
    overallRate: RATE,
    duration: LOAD_SECONDS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: VMS_PAGE }),
    requests: [
      {
        onResponse: (status: number, body: string) => {
          const r = status === 200 ? (JSON.parse(body) as VmsPage) : null;
          if (!r || r.errors || r.data?.vms?.edges.length !== 100) {
            if (errors++ === 0) console.log(`first error: ${status} ${body.slice(0, 300)}`);
          }
        },
      },
    ],
    setupClient: (client) => {
      client.on('response', (_status, _bytes, responseTime) => latencies.push(responseTime));
    },
  });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => percentile(latencies, q);
  return {
    requests: latencies.length,
    errors: errors + result.errors + result.timeouts + result.non2xx,
    rate: latencies.length / LOAD_SECONDS,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

async function run(): Promise<void> {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: resolve(import.meta.dirname, '../..') })
      .toString()
      .trim();
  console.log(
    `fleet: ${HOSTS} simulated hosts on ${RIG_HOSTS} rig libvirtds over TLS, ${VMS} VMs, ${USERS} users; Kumo ${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src') ? ' (src/ modified)' : ''}, node ${process.version}, ${execFileSync('nproc').toString().trim()} cores`,
  );
  await dropDatabase(pgUrl(pg, 'postgres'), DB);
  await createDatabase(pgUrl(pg, 'postgres'), DB);
  let t0 = performance.now();
  writeFleet(rig.dir, fleet);
  console.log(`test driver files written in ${seconds(t0).toFixed(1)} s`);

  t0 = performance.now();
  const c = await startControllerProcess(
    {
      listen: { host: '127.0.0.1', port: 0 },
      database: { url: dbUrl },
      admin: ADMIN,
      auth: { scryptLog2N: 10, signInAttempts: 1000 },
      localLibvirtUri: 'qemu:///system?socket=/nonexistent/libvirt-sock',
      drivers: { packages: [resolve(import.meta.dirname, '../../test/fleet/driver.ts')] },
      ...(QUIET
        ? { vms: { reconcileIntervalSeconds: 3600 }, metering: { intervalSeconds: 3600 } }
        : {}),
    },
    dataDir,
  );
  controller = c;
  console.log(`controller pid ${c.pid} listening at ${c.url} after ${seconds(t0).toFixed(1)} s`);
  const admin = await benchSignIn(c.url, ADMIN.email, ADMIN.password);

  t0 = performance.now();
  await inParallel(fleet, ADD_CONCURRENCY, async (h) => {
    await benchGql(
      c.url,
      'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
      { input: { name: h.name, uri: h.uri, credentials: { tlsPkiPath: rig.pki.clientDir } } },
      admin,
    ).then((r) => {
      const added = r as { hostAdd: { host: unknown; userErrors: unknown[] } };
      if (!added.hostAdd.host) throw new Error(`hostAdd ${h.name}: ${JSON.stringify(added)}`);
    });
  });
  const addS = seconds(t0);
  console.log(
    `hostAdd x${HOSTS} (${ADD_CONCURRENCY} at a time): ${addS.toFixed(1)} s, ${(HOSTS / addS).toFixed(0)} hosts/s`,
  );

  t0 = performance.now();
  const userIds: UserId[] = [];
  await inParallel(
    Array.from({ length: USERS }, (_, i) => i),
    8,
    async (i) => {
      const r = await benchGql<{ userCreate: { user: { id: string } } }>(
        c.url,
        'mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id } } }',
        { input: { email: `user${i}@kumo.bench`, password: PASSWORD } },
        admin,
      );
      userIds[i] = Buffer.from(r.userCreate.user.id, 'base64').toString().split(':')[1] as UserId;
    },
  );
  console.log(`userCreate x${USERS}: ${seconds(t0).toFixed(1)} s`);

  // The VM rows go in beside the running controller, as if made by vmCreate long ago.
  t0 = performance.now();
  const db = await Database.open(
    loadConfig({ env: {}, overrides: { dataDir, database: { url: dbUrl } } }),
  );
  try {
    const em = db.fork();
    const hostIds = new Map(
      (await em.find(Host, {}, { fields: ['id', 'name'] })).map((h) => [h.name, h.id as HostId]),
    );
    const perUser = Math.ceil(VMS / USERS);
    const n = await seedFleetVms(
      em,
      fleet,
      hostIds,
      (i) => userIds[Math.floor(i / perUser)] as UserId,
    );
    const owners = await em.count(User, {});
    console.log(`${n} VM rows inserted in ${seconds(t0).toFixed(1)} s (${owners} users)`);
  } finally {
    await db.close();
  }

  if (QUIET) console.log('quiet: no sweeps or metering rounds measured or running');
  else {
    const before = await scrapeMetrics(c.url);
    const sweeps = before.get('kumo_rounds_total{round="reconcile"}') ?? 0;
    const rounds = before.get('kumo_rounds_total{round="metering"}') ?? 0;
    console.log('waiting for a reconcile sweep and a metering round that see every VM');
    const sweep = await waitRound(c.url, 'reconcile', sweeps);
    const metering = await waitRound(c.url, 'metering', rounds);
    console.log(
      `reconcile sweep of all hosts: ${sweep.toFixed(2)} s; metering round (all hosts' statistics): ${metering.toFixed(2)} s`,
    );
  }

  const user = await benchSignIn(c.url, 'user0@kumo.bench', PASSWORD);
  if (process.env.BENCH_HOLD === '1') {
    console.log(`holding (Ctrl-C ends): KUMO_URL=${c.url} ADMIN_TOKEN=${admin} USER_TOKEN=${user}`);
    await new Promise((r) => process.once('SIGINT', r));
    return;
  }
  for (const [who, token] of [
    ['admin', admin],
    [`user with ${Math.ceil(VMS / USERS)} VMs`, user],
  ] as const) {
    const cpu0 = cpuSecondsOf(c.pid);
    const own0 = process.cpuUsage();
    const r = await load(c.url, token);
    const cpu = cpuSecondsOf(c.pid) - cpu0;
    const own = process.cpuUsage(own0);
    const ms = (x: number) => x.toFixed(1);
    console.log(
      `vms(first: 100), ${who}, ${RATE}/s for ${LOAD_SECONDS} s: ${r.requests} requests (${r.rate.toFixed(0)}/s), ${r.errors} errors; latency ms p50 ${ms(r.p50)} p95 ${ms(r.p95)} p99 ${ms(r.p99)} max ${ms(r.max)}; controller CPU ${ms((cpu / LOAD_SECONDS) * 100)}% of a core (${ms((cpu * 1000) / r.requests)} ms a request), load generator ${ms(((own.user + own.system) / 1e6 / LOAD_SECONDS) * 100)}%`,
    );
  }
  const m = await scrapeMetrics(c.url);
  console.log(
    `controller memory: RSS ${MiB(rssOf(c.pid))} MiB, heap used ${MiB(m.get('kumo_nodejs_heap_size_used_bytes') ?? 0)} MiB of ${MiB(m.get('kumo_nodejs_heap_size_total_bytes') ?? 0)} MiB`,
  );
}

try {
  await run();
} catch (err) {
  console.log(
    `the bench failed; the controller's last words:\n${controller?.output().slice(-4000)}`,
  );
  throw err;
} finally {
  await controller?.stop();
  removeFleet(rig.dir, fleet);
  await dropDatabase(pgUrl(pg, 'postgres'), DB).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
  if (!rigReused && process.env.BENCH_KEEP_RIG !== '1')
    await rigDown().catch((err: unknown) => console.log(`the rig stays up: ${String(err)}`));
}
