// bench/events: how long a libvirt lifecycle event takes to reach GraphQL subscribers, with many
// subscriptions open. A controller (`node src/main.ts`, its own process, on SQLite) runs one VM on
// a rig host over TLS; BENCH_SUBSCRIPTIONS graphql-ws clients (one WebSocket each; half admins,
// half users the VM is shared with as VIEWER; half following that VM, half every VM they may see)
// subscribe to vmStateChanged. The bench suspends and resumes the VM through its own libvirt
// connection, which also listens for the lifecycle events: the baseline is the moment that
// connection receives the event, and each delivery is measured from it. Prints percentiles of the
// delivery latency and any delivery missing. Nothing is asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { LifecycleEvent } from '../../src/libvirt/api/events.ts';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { rawId } from '../../test/api/support.ts';
import { rigDown, rigUpDetailed } from '../../test/rig/rig.ts';
import { bytes, serveFiles } from '../../test/support/file-server.ts';
import { ensureGuestNetwork } from '../../test/support/guest-network.ts';
import {
  benchAddRigHost,
  benchCreateVm,
  benchGql,
  benchImportImage,
  benchSignIn,
  type ControllerProcess,
  cpuSecondsOf,
  inParallel,
  percentile,
  removeAllVms,
  rssOf,
  scrapeMetrics,
  startRigController,
} from '../controller-process.ts';

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 1000);
const USERS = Number(process.env.BENCH_USERS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const DELIVERY_TIMEOUT_MS = 10_000;
const PASSWORD = 'bench-password-2';

const { rig, reused: rigReused } = await rigUpDetailed(1);
const host = rig.hosts[0] as (typeof rig.hosts)[number];
const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-events-'));
const files = await serveFiles();
files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
let controller = null as ControllerProcess | null;
let adminToken = '';
const clients: Client[] = [];
let conn = null as LibvirtConnection | null;

// An operation's end, polled (the bench's own subscriptions are for what it measures).
/** Subscriber is one graphql-ws client with one vmStateChanged subscription. */
interface Subscriber {
  readonly client: Client;
  /** seen is when each state arrived, for the event being measured. */
  readonly seen: Map<string, number>;
}

function subscribe(url: string, token: string, vmId: string | null): Subscriber {
  const client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  clients.push(client);
  const seen = new Map<string, number>();
  client.subscribe<{ vmStateChanged: { state: string } }>(
    {
      query: 'subscription($vm: ID) { vmStateChanged(vm: $vm) { state } }',
      variables: { vm: vmId },
    },
    {
      next: (v) => {
        const state = v.data?.vmStateChanged.state;
        if (state && !seen.has(state)) seen.set(state, performance.now());
      },
      error: (err) => console.log(`a subscription ended: ${JSON.stringify(err)}`),
      complete: () => undefined,
    },
  );
  return { client, seen };
}

async function run(): Promise<void> {
  const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  console.log(
    `events: ${SUBSCRIPTIONS} subscriptions (${USERS} users and admins), ${ROUNDS} suspend/resume rounds; Kumo ${rev}, node ${process.version}, ${execFileSync('nproc').toString().trim()} cores`,
  );
  conn = await LibvirtConnection.open(host.tlsUri);
  await ensureGuestNetwork(conn);
  const { controller: c, admin } = await startRigController(dataDir);
  controller = c;
  adminToken = admin;
  const hostId = await benchAddRigHost(c.url, admin, host, rig.pki.clientDir);
  const imageId = await benchImportImage(c.url, admin, `${files.base}/disk.raw`, 'blank');
  const vmId = await benchCreateVm(c.url, admin, {
    image: imageId,
    name: 'watched',
    memoryBytes: 128 * 2 ** 20,
    host: hostId,
  });

  const users: string[] = [];
  await inParallel(
    Array.from({ length: USERS }, (_, i) => i),
    4,
    async (i) => {
      const email = `user${i}@kumo.bench`;
      await benchGql(
        c.url,
        'mutation($input: UserCreateInput!) { userCreate(input: $input) { user { id } } }',
        { input: { email, password: PASSWORD } },
        admin,
      );
      await benchGql(
        c.url,
        'mutation($input: VmShareInput!) { vmShare(input: $input) { userErrors { message } } }',
        { input: { id: vmId, email, role: 'VIEWER' } },
        admin,
      );
      users[i] = await benchSignIn(c.url, email, PASSWORD);
    },
  );

  const started0 =
    (await scrapeMetrics(c.url)).get('kumo_graphql_subscriptions_total{event="start"}') ?? 0;
  let t0 = performance.now();
  const subscribers = Array.from({ length: SUBSCRIPTIONS }, (_, i) =>
    subscribe(c.url, i % 2 === 0 ? admin : (users[i % USERS] as string), i % 4 < 2 ? vmId : null),
  );
  for (;;) {
    const started =
      (await scrapeMetrics(c.url)).get('kumo_graphql_subscriptions_total{event="start"}') ?? 0;
    if (started - started0 >= SUBSCRIPTIONS) break;
    await sleep(250);
  }
  console.log(
    `${SUBSCRIPTIONS} subscriptions open in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const dom = await conn.domains.lookupByName(`kumo-${rawId(vmId)}`);
  const raw = new Map<LifecycleEvent, number>();
  await conn.events.onLifecycle((e) => {
    if (e.domain.uuid === dom.uuid && !raw.has(e.event)) raw.set(e.event, performance.now());
  }, dom);
  const steps = [
    { call: () => conn?.domains.suspend(dom), event: 'suspended', state: 'PAUSED' },
    { call: () => conn?.domains.resume(dom), event: 'resumed', state: 'RUNNING' },
  ] as const;
  // One event caused: when the call began and when libvirt's event reached the bench, once every
  // subscriber has it (or DELIVERY_TIMEOUT_MS passed).
  const cause = async (step: (typeof steps)[number]) => {
    raw.clear();
    for (const s of subscribers) s.seen.delete(step.state);
    const called = performance.now();
    await step.call();
    const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
    while (subscribers.some((s) => !s.seen.has(step.state)) && performance.now() < deadline)
      await sleep(5);
    const at = raw.get(step.event);
    if (at === undefined) throw new Error(`libvirt sent no ${step.event} event`);
    return { called, at };
  };
  // A subscription counted as started listens on the bus a moment later: unmeasured rounds
  // until one reaches every subscriber.
  for (let round = 0; ; round++) {
    let all = true;
    for (const step of steps) {
      await cause(step);
      all &&= subscribers.every((s) => s.seen.has(step.state));
    }
    if (all) break;
    if (round === 10) throw new Error('some subscriptions never heard an event');
  }

  const latencies: number[] = [];
  const fromCall: number[] = [];
  let missing = 0;
  const cpu0 = cpuSecondsOf(c.pid);
  const own0 = process.cpuUsage();
  t0 = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (const step of steps) {
      const { called, at } = await cause(step);
      for (const s of subscribers) {
        const got = s.seen.get(step.state);
        if (got === undefined) missing++;
        else {
          latencies.push(got - at);
          fromCall.push(got - called);
        }
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSecondsOf(c.pid) - cpu0;
  const own = process.cpuUsage(own0);
  latencies.sort((a, b) => a - b);
  fromCall.sort((a, b) => a - b);
  const ms = (xs: number[], q: number) => percentile(xs, q).toFixed(1);
  const events = ROUNDS * steps.length;
  console.log(
    `${events} events x ${SUBSCRIPTIONS} subscriptions: ${latencies.length} deliveries, ${missing} missing`,
  );
  console.log(
    `latency from libvirt's event at a client, ms: p50 ${ms(latencies, 0.5)} p95 ${ms(latencies, 0.95)} p99 ${ms(latencies, 0.99)} max ${ms(latencies, 1)}`,
  );
  console.log(
    `latency from the libvirt call, ms: p50 ${ms(fromCall, 0.5)} p99 ${ms(fromCall, 0.99)}; controller CPU ${((cpu / seconds) * 100).toFixed(0)}% of a core over ${seconds.toFixed(1)} s (${((cpu * 1000) / events).toFixed(1)} ms an event); RSS ${(rssOf(c.pid) / 2 ** 20).toFixed(0)} MiB; the subscribers' process ${(((own.user + own.system) / 1e6 / seconds) * 100).toFixed(0)}% of a core`,
  );
}

try {
  await run();
} finally {
  await Promise.all(clients.map((client) => client.dispose()));
  if (controller && adminToken)
    await removeAllVms(controller.url, adminToken).catch((err: unknown) =>
      console.log(`removing the VM: ${String(err)}`),
    );
  await controller?.stop();
  await conn?.close();
  await files.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (!rigReused && process.env.BENCH_KEEP_RIG !== '1')
    await rigDown().catch((err: unknown) => console.log(`the rig stays up: ${String(err)}`));
}
