// bench/metering: Kumo's metering collector (src/services/metering/usage-collector.ts) reading
// 1,000 running domains on 4 rig hosts, simulated by libvirt's test driver through each host's
// real libvirtd over TLS. A real controller runs in-process on a SQLite file, with the hosts
// added by hostAdd and one Vm row per domain. Prints, per collection round: the controller's
// CPU time, wall time, RPC calls and SQL statements, and the hosts' libvirtd CPU; memory; and
// the same read done the naive way, with calls per VM. Nothing is asserted.
//
// libvirt 9.0's test driver answers none of the statistics groups the collector asks for, so a
// second run hands the collector, after the same RPC, the reply a QEMU host would have sent:
// records shaped on what a real QEMU VM on the rig reports (capture.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { type Kumo, startKumo } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { Host } from '../../src/entities/host.ts';
import type { HostId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { type DomainRef, ListFlags, StatsGroups } from '../../src/libvirt/api/domains.ts';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import type {
  ConnectGetAllDomainStatsArgs,
  NonnullDomain,
  TypedParam,
} from '../../src/libvirt/generated/remote-protocol.gen.ts';
import type { CallOptions, Procedure } from '../../src/libvirt/rpc/caller.ts';
import { RpcClient } from '../../src/libvirt/rpc/client.ts';
import { decodePayload } from '../../src/libvirt/rpc/message.ts';
import type { Decoder, Encoder } from '../../src/libvirt/xdr/index.ts';
import { postGql } from '../../test/api/support.ts';
import { type FleetHost, planFleet, removeFleet, writeFleet } from '../../test/fleet/fleet.ts';
import { seedFleetVms } from '../../test/fleet/seed.ts';
import { rigDown, rigUpDetailed } from '../../test/rig/rig.ts';
import { captureQemuRecord, withGuestBalloon } from './capture.ts';
import { qemuShapedReply } from './qemu-reply.ts';

const DOMAINS = Number(process.env.BENCH_DOMAINS ?? 1000);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const WARMUP = 3;
const INTERVAL_S = 10;
// Each round's CPU time runs on this long after the round ends, to catch work it leaves behind.
const SETTLE_MS = 200;
const REAL_ROUNDS = Number(process.env.BENCH_REAL_ROUNDS ?? 12);
const IDLE_WINDOWS = 3;
const SETTLE_IDLE_MS = 20_000;
/** BENCH_PROFILE names a file for a CPU profile of the QEMU-shaped collect() rounds. */
const PROFILE = process.env.BENCH_PROFILE;
const ENFORCE_STATS = 0x80000000;
const ADMIN = { email: 'admin@kumo.bench', password: 'bench-password-1' };

// ---- RPC calls are counted, and QEMU-shaped replies handed over, at Kumo's RPC client: every
// call of every connection in this process goes through RpcClient.prototype.call (src/ untouched).
let rpcCalls = 0;
const byProcedure = new Map<string, number>();
/** The bench's own connections; the others are the controller's sessions. */
const benchClients = new WeakSet<RpcClient>();
/** collectorCall is what the controller's get-all-domain-stats calls asked for (groups, flags). */
let collectorCall: { stats: number; flags: number } | null = null;
/** qemuReplies, when set, are the payloads CONNECT_GET_ALL_DOMAIN_STATS decodes, by connection label. */
let qemuReplies: Map<string, Buffer> | null = null;
const realCall = RpcClient.prototype.call;
const forward = realCall as (
  this: RpcClient,
  ...args: [Procedure, unknown, unknown, unknown, CallOptions | undefined]
) => Promise<unknown>;
RpcClient.prototype.call = function call<A, R>(
  this: RpcClient,
  proc: Procedure,
  encode: Encoder<A> | null,
  args: A,
  decode: Decoder<R> | null,
  opts?: CallOptions,
): Promise<R> {
  rpcCalls++;
  byProcedure.set(proc.name, (byProcedure.get(proc.name) ?? 0) + 1);
  if (proc.name !== 'CONNECT_GET_ALL_DOMAIN_STATS')
    return forward.call(this, proc, encode, args, decode, opts) as Promise<R>;
  if (!benchClients.has(this)) {
    const { stats, flags } = args as ConnectGetAllDomainStatsArgs;
    collectorCall = { stats, flags };
  }
  const reply = qemuReplies?.get(this.label);
  if (!reply) return forward.call(this, proc, encode, args, decode, opts) as Promise<R>;
  // The call goes to the daemon as always; its (test driver) reply is not decoded, the QEMU
  // one is, with the same decoder, and the caller gets that.
  return forward
    .call(this, proc, encode, args, null, opts)
    .then(() => decodePayload(reply, decode) as R);
};

const { rig, reused } = await rigUpDetailed(HOSTS);
const hosts = rig.hosts.slice(0, HOSTS);
// One simulated host per rig host, named after it.
const fleet = planFleet({ rigHosts: hosts, hosts: hosts.length, vms: DOMAINS, prefix: 'kbm' });
const fleetHost = (i: number) => fleet[i] as FleetHost;
const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-metering-'));
let kumo: Kumo | null = null;
const conns: LibvirtConnection[] = [];

async function gql<T>(
  k: Kumo,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<T> {
  const body = await postGql<T>(k.server.url, query, variables, token ?? null);
  if (!body.data || body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body)}`);
  return body.data;
}

// Hosts go in through the API, as an admin adds them; the VMs as rows, since their domains come
// from the test driver's files, not from vmCreate.
async function setUp(k: Kumo): Promise<void> {
  const { sessionCreate } = await gql<{ sessionCreate: { token: string } }>(
    k,
    'mutation($e: String!, $p: String!) { sessionCreate(input: {email: $e, password: $p}) { token } }',
    { e: ADMIN.email, p: ADMIN.password },
  );
  for (const [i, h] of hosts.entries()) {
    const r = await gql<{ hostAdd: { host: { id: string } | null; userErrors: unknown[] } }>(
      k,
      'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
      {
        input: {
          name: fleetHost(i).name,
          uri: fleetHost(i).uri,
          credentials: { tlsPkiPath: rig.pki.clientDir },
        },
      },
      sessionCreate.token,
    );
    if (!r.hostAdd.host) throw new Error(`hostAdd ${h.name}: ${JSON.stringify(r.hostAdd)}`);
  }
  const em = k.db.fork();
  const owner = await em.findOneOrFail(User, { email: ADMIN.email });
  const hostIds = new Map((await em.find(Host, {})).map((h) => [h.name, h.id as HostId]));
  await seedFleetVms(em, fleet, hostIds, () => owner.id);
}

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly rpcs: number;
  readonly sql: number;
  /** hostCpuMs is the rig's libvirtd processes' CPU time, summed (10 ms ticks). */
  readonly hostCpuMs: number;
}

let sqlStatements = 0;

// libvirtd's CPU time (utime + stime) from /proc, in ms; the rig's pids are root-namespace pids.
function libvirtdCpuMs(): number {
  let ticks = 0;
  for (const h of hosts) {
    const stat = readFileSync(`/proc/${h.pids.libvirtd}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10;
}

async function measure(work: () => Promise<unknown>): Promise<Sample> {
  const rpc0 = rpcCalls;
  const sql0 = sqlStatements;
  const host0 = libvirtdCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  const rpcs = rpcCalls - rpc0;
  const sql = sqlStatements - sql0;
  await sleep(SETTLE_MS);
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    rpcs,
    sql,
    hostCpuMs: libvirtdCpuMs() - host0,
  };
}

interface Memory {
  readonly heapMiB: number;
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
  readonly rssMiB: number;
}

type Gc = (opts?: { type: 'major' | 'minor' }) => void;
const minorGc = () => (globalThis as { gc?: Gc }).gc?.({ type: 'minor' });

function memory(): Memory {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const mib = (n: number) => n / 2 ** 20;
  return {
    heapMiB: mib(m.heapUsed),
    heapTotalMiB: mib(m.heapTotal),
    externalMiB: mib(m.external),
    rssMiB: mib(m.rss),
  };
}

/** GcFigures are what V8's collector did while watched: bytes it freed plus growth, and pauses. */
interface GcFigures {
  readonly allocatedMiB: number;
  readonly pauseMs: number;
  readonly collections: number;
}

// Allocation is estimated as what the collections freed plus what the heap grew by meanwhile.
function watchGc(): () => GcFigures {
  const profiler = new GCProfiler();
  const used0 = getHeapStatistics().used_heap_size;
  profiler.start();
  return () => {
    const { statistics } = profiler.stop();
    let freed = 0;
    let pause = 0;
    for (const g of statistics) {
      freed += g.beforeGC.heapStatistics.usedHeapSize - g.afterGC.heapStatistics.usedHeapSize;
      pause += g.cost;
    }
    const grown = getHeapStatistics().used_heap_size - used0;
    return {
      allocatedMiB: (freed + grown) / 2 ** 20,
      pauseMs: pause / 1000,
      collections: statistics.length,
    };
  };
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
function median(xs: readonly number[]): number {
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const p95 = (xs: readonly number[]) => sorted(xs)[Math.ceil(xs.length * 0.95) - 1] as number;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const groupNames = (bits: number) =>
  Object.entries(StatsGroups)
    .filter(([, b]) => bits & b)
    .map(([n]) => n.toLowerCase().replace('_', '-'))
    .join(', ');

async function run(k: Kumo): Promise<void> {
  await setUp(k);
  const sqlConnection = k.db.orm.em.getConnection();
  const execute = sqlConnection.execute.bind(sqlConnection);
  sqlConnection.execute = ((...args: Parameters<typeof execute>) => {
    sqlStatements++;
    return execute(...args);
  }) as typeof sqlConnection.execute;

  // The bench's own connections, one per host, for the bare calls and the per-VM baseline: the
  // same client and files as the controller's sessions.
  for (const f of fleet) {
    const c = await LibvirtConnection.open(`${f.uri}?pkipath=${rig.pki.clientDir}`);
    benchClients.add(c.rpc);
    conns.push(c);
  }
  const refs: DomainRef[][] = [];
  for (const c of conns)
    refs.push(
      (await c.domains.stats([], StatsGroups.STATE, ListFlags.ACTIVE)).map((r) => r.domain),
    );
  const taps = new Map(fleet.flatMap((f) => f.domains).map((d) => [d.uuid, d.tap]));
  const handles: NonnullDomain[][] = refs.map((rs) => rs.map((r) => r.handle));
  const running = refs.reduce((n, rs) => n + rs.length, 0);
  if (running !== DOMAINS)
    throw new Error(`the test driver runs ${running} domains, not ${DOMAINS}`);

  const first = conns[0] as LibvirtConnection;
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `metering: ${DOMAINS} running domains (libvirt test driver) on ${hosts.length} rig hosts over TLS, ${ROUNDS} rounds (+${WARMUP} warm-up) per run, rounds ${INTERVAL_S} s apart on the collector's clock`,
  );
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: resolve(import.meta.dirname, '../..') })
      .toString()
      .trim();
  const commit = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src') ? ' (src/ modified)' : ''}`;
  console.log(
    `Kumo ${commit}, node ${process.version}, libvirtd ${first.libVersion}, ${execFileSync('nproc').toString().trim()} cores, load ${loadavg()}, gc ${'gc' in globalThis ? 'exposed' : 'not exposed (run with --expose-gc)'}`,
  );

  const mem: Array<[string, Memory]> = [['after setup', memory()]];
  const results: Array<[string, Sample[]]> = [];
  const T0 = Date.now();
  let step = 0;
  let template: TypedParam[] = [];
  // What the collector's calls asked for, once it made one.
  let asked = { stats: 0, flags: 0 };
  const qemuAt = (s: number) =>
    new Map(
      hosts.map((_h, i) => [
        fleetHost(i).uri,
        qemuShapedReply(handles[i] as NonnullDomain[], taps, template, s),
      ]),
    );

  // The collector, its rounds 10 s apart on its clock (each minute's record is made, then
  // updated five times), first with what the test driver replies, then with QEMU-shaped replies.
  const gcs: Array<[string, GcFigures]> = [];
  for (const qemu of [false, true]) {
    const samples: Sample[] = [];
    const profiler = qemu && PROFILE ? new Session() : null;
    profiler?.connect();
    await profiler?.post('Profiler.enable');
    await profiler?.post('Profiler.start');
    for (let r = -WARMUP; r < ROUNDS; r++) {
      step++;
      // The replies are made before the round, outside its CPU time and GC watch, and their
      // making's short-lived garbage is swept then too.
      qemuReplies = qemu ? qemuAt(step) : null;
      minorGc();
      const at = new Date(T0 + step * INTERVAL_S * 1000);
      const watch = watchGc();
      const s = await measure(() => k.metering.collect(at));
      const g = watch();
      if (r >= 0) {
        samples.push(s);
        gcs.push([qemu ? 'QEMU-shaped' : 'test driver', g]);
      }
    }
    qemuReplies = null;
    if (profiler && PROFILE) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(PROFILE, JSON.stringify(profile));
      profiler.disconnect();
    }
    results.push([`collect(), ${qemu ? 'QEMU-shaped replies' : 'test driver replies'}`, samples]);
    mem.push([`after collect(), ${qemu ? 'QEMU-shaped' : 'test driver'}`, memory()]);
    if (qemu) continue;

    // Now that the collector asked, what its groups give: from the test driver, and from QEMU.
    if (!collectorCall) throw new Error('the collector made no get-all-domain-stats call');
    asked = collectorCall;
    const answered = [];
    for (const [name, bit] of Object.entries(StatsGroups))
      if (
        await first.domains
          .stats([], bit, ListFlags.ACTIVE | ENFORCE_STATS)
          .then(() => true)
          .catch(() => false)
      )
        answered.push(name.toLowerCase());
    const testFields = Object.keys(
      (await first.domains.stats([], asked.stats, asked.flags))[0]?.stats ?? {},
    ).length;
    const qemuConn = await LibvirtConnection.open((hosts[0] as (typeof hosts)[0]).tlsUri);
    benchClients.add(qemuConn.rpc);
    try {
      template = withGuestBalloon(await captureQemuRecord(qemuConn, asked.stats, rig.domainType));
    } finally {
      await qemuConn.close();
    }
    const bytes = qemuShapedReply(handles[0] as NonnullDomain[], taps, template, 0).length;
    console.log(
      `the collector asks for: ${groupNames(asked.stats)} (flags ${asked.flags}); the test driver answers only: ${answered.join(', ')}, so its records have ${testFields} fields`,
    );
    console.log(
      `QEMU-shaped records: ${template.length} fields each (what a ${rig.domainType} VM with 1 vCPU, 1 disk, 1 NIC reported on ${hosts[0]?.name} just now, plus 10 guest balloon fields); ${(bytes / 1024).toFixed(0)} KiB per reply of ${handles[0]?.length} domains`,
    );
  }

  // The read alone, on the bench's connections: one bulk call per host as the collector makes
  // it, and one or three calls per VM (hosts in parallel, each connection's window of 4 kept
  // full). Interleaved round by round.
  const { stats: groups, flags } = asked;
  const bulk = () => Promise.all(conns.map((c) => c.domains.stats([], groups, flags)));
  const bare: Array<{ name: string; qemu: boolean; work: () => Promise<unknown> }> = [
    { name: 'bulk: 1 stats call per host, test driver', qemu: false, work: bulk },
    { name: 'bulk: 1 stats call per host, QEMU-shaped', qemu: true, work: bulk },
    {
      name: 'per VM: 1 stats call each',
      qemu: false,
      work: () =>
        Promise.all(
          conns.map((c, i) =>
            Promise.all((refs[i] as DomainRef[]).map((d) => c.domains.stats([d], groups))),
          ),
        ),
    },
    {
      name: 'per VM: info + block + interface',
      qemu: false,
      work: () =>
        Promise.all(
          conns.map((c, i) =>
            Promise.all(
              (refs[i] as DomainRef[]).map((d) =>
                Promise.all([
                  c.remote.domainGetInfo({ dom: d.handle }),
                  c.remote.domainBlockStats({ dom: d.handle, path: 'vda' }),
                  c.remote.domainInterfaceStats({ dom: d.handle, device: taps.get(d.uuid) ?? '' }),
                ]),
              ),
            ),
          ),
        ),
    },
  ];
  const bareSamples = bare.map(() => [] as Sample[]);
  for (let r = -WARMUP; r < ROUNDS; r++) {
    for (const [i, b] of bare.entries()) {
      step++;
      qemuReplies = b.qemu ? qemuAt(step) : null;
      minorGc();
      const s = await measure(b.work);
      qemuReplies = null;
      if (r >= 0) bareSamples[i]?.push(s);
    }
  }
  bare.forEach((b, i) => {
    results.push([b.name, bareSamples[i] as Sample[]]);
  });
  mem.push(['after the bare calls', memory()]);

  // Rounds at the real interval: the controller's whole CPU time over each 10 s window, which
  // also holds what a round leaves for later (V8 shrinking its heap once the process is idle).
  // Idle windows first, after the bare calls' aftermath has settled, then collect() rounds with
  // QEMU-shaped replies (made beforehand, so their making is not counted).
  await sleep(SETTLE_IDLE_MS);
  const windowMs = async (work: (() => Promise<unknown>) | null): Promise<number> => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await work?.();
    await sleep(INTERVAL_S * 1000 - (performance.now() - t0));
    const cpu = process.cpuUsage(cpu0);
    return (cpu.user + cpu.system) / 1000;
  };
  const idleWindows: number[] = [];
  for (let r = 0; r < IDLE_WINDOWS; r++) idleWindows.push(await windowMs(null));
  const replies = Array.from({ length: REAL_ROUNDS }, (_, r) => qemuAt(step + 1 + r));
  (globalThis as { gc?: () => void }).gc?.();
  const realWindows: number[] = [];
  for (const reply of replies) {
    step++;
    qemuReplies = reply;
    const at = new Date(T0 + step * INTERVAL_S * 1000);
    realWindows.push(await windowMs(() => k.metering.collect(at)));
  }
  qemuReplies = null;
  replies.length = 0;
  mem.push(['after the real-interval rounds', memory()]);

  const f = (n: number, d = 1) => n.toFixed(d).padStart(7);
  console.log(
    '\nrun (per round)                           CPU ms: median     p95    mean  wall ms: median     p95   RPCs   SQL  libvirtd CPU ms',
  );
  for (const [name, s] of results) {
    const c = s.map((x) => x.cpuMs);
    const w = s.map((x) => x.wallMs);
    console.log(
      `${name.padEnd(48)} ${f(median(c))} ${f(p95(c))} ${f(mean(c))}          ${f(median(w))} ${f(p95(w))} ${String(median(s.map((x) => x.rpcs))).padStart(6)} ${String(median(s.map((x) => x.sql))).padStart(5)} ${f(mean(s.map((x) => x.hostCpuMs)), 0)}`,
    );
  }
  console.log(
    `(CPU: the controller process, the round plus ${SETTLE_MS} ms after it; libvirtd: the hosts' daemons, mean, 10 ms ticks)`,
  );
  console.log(
    `SQL statements per collect() round, min-max: ${results
      .slice(0, 2)
      .map(
        ([n, s]) =>
          `${n.slice(11)} ${Math.min(...s.map((x) => x.sql))}-${Math.max(...s.map((x) => x.sql))}`,
      )
      .join(', ')}`,
  );
  for (const name of ['test driver', 'QEMU-shaped']) {
    const g = gcs.filter(([n]) => n === name).map(([, x]) => x);
    console.log(
      `collect() with ${name} replies, per round: ${mean(g.map((x) => x.allocatedMiB)).toFixed(1)} MiB allocated, ${mean(g.map((x) => x.collections)).toFixed(1)} collections, ${mean(g.map((x) => x.pauseMs)).toFixed(1)} ms of GC pauses (means)`,
    );
  }
  console.log(
    `calls by procedure, whole run: ${[...byProcedure].map(([p, n]) => `${p} ${n}`).join(', ')}`,
  );
  console.log(
    `\nat the real interval, controller CPU ms per ${INTERVAL_S} s window: idle ${idleWindows.map((x) => x.toFixed(0)).join(', ')}; with a collect() round (QEMU-shaped) ${realWindows.map((x) => x.toFixed(0)).join(', ')}`,
  );
  console.log('\nmemory (after a full GC), MiB     heap used  heap total  external      RSS');
  for (const [name, m] of mem)
    console.log(
      `${name.padEnd(34)} ${f(m.heapMiB)}     ${f(m.heapTotalMiB)}   ${f(m.externalMiB)}  ${f(m.rssMiB)}`,
    );
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  console.log(`load at the end: ${loadavg()}\n`);

  const get = (name: string) => results.find(([n]) => n.startsWith(name))?.[1] ?? [];
  const qemuCollect = get('collect(), QEMU');
  for (const [name, s] of [
    ['test driver', get('collect(), test')],
    ['QEMU-shaped', qemuCollect],
  ] as const) {
    const perHost = median(s.map((x) => x.rpcs)) / hosts.length;
    console.log(
      `RPCs per host per collection, ${name}: ${perHost} (target 1): ${perHost === 1 ? 'met' : 'NOT met'}`,
    );
  }
  const pct = (x: number) => ((x / (INTERVAL_S * 1000)) * 100).toFixed(2);
  const cpuOf = (s: Sample[]) =>
    `${pct(mean(s.map((x) => x.cpuMs)))}% of one core (mean; median ${pct(median(s.map((x) => x.cpuMs)))}%, p95 ${pct(p95(s.map((x) => x.cpuMs)))}%)`;
  console.log(
    `CPU per round at a ${INTERVAL_S} s interval, test driver (empty records): ${cpuOf(get('collect(), test'))}`,
  );
  const qemuPct = mean(qemuCollect.map((x) => x.cpuMs)) / (INTERVAL_S * 10);
  console.log(
    `CPU per round at a ${INTERVAL_S} s interval, QEMU-shaped: ${cpuOf(qemuCollect)} (target < 2%): ${qemuPct < 2 ? 'met' : 'NOT met'}`,
  );
  const idleMean = mean(idleWindows);
  const realMean = mean(realWindows);
  const pctOf = (x: number) => (x / (INTERVAL_S * 1000)) * 100;
  console.log(
    `CPU at the real ${INTERVAL_S} s interval, QEMU-shaped: ${pctOf(realMean).toFixed(2)}% of one core in all (mean of ${realWindows.length} windows), ${pctOf(realMean - idleMean).toFixed(2)}% above idle (${pctOf(idleMean).toFixed(2)}%) (target < 2%): ${pctOf(realMean - idleMean) < 2 ? 'met' : 'NOT met'}`,
  );
  const bulkQemu = mean(get('bulk: 1 stats call per host, QEMU').map((x) => x.cpuMs));
  console.log(
    `QEMU-shaped: the stats calls and their decoding take ${bulkQemu.toFixed(1)} ms of it, the rest (rows, usage, SQL) ${(mean(qemuCollect.map((x) => x.cpuMs)) - bulkQemu).toFixed(1)} ms`,
  );
  const bulkTest = get('bulk: 1 stats call per host, test');
  for (const name of ['per VM: 1 stats call each', 'per VM: info + block + interface']) {
    const s = get(name);
    const ratio = (key: keyof Sample) =>
      mean(s.map((x) => x[key])) / mean(bulkTest.map((x) => x[key]));
    console.log(
      `${name} / bulk (test driver): controller CPU ${ratio('cpuMs').toFixed(1)}x, wall ${ratio('wallMs').toFixed(1)}x, RPCs ${ratio('rpcs').toFixed(0)}x, libvirtd CPU ${ratio('hostCpuMs').toFixed(1)}x`,
    );
  }
}

try {
  writeFleet(rig.dir, fleet);
  kumo = await startKumo(
    loadConfig({
      env: {},
      overrides: {
        dataDir,
        listen: { host: '127.0.0.1', port: 0 },
        admin: ADMIN,
        auth: { scryptLog2N: 10 },
        localLibvirtUri: 'qemu:///system?socket=/nonexistent/libvirt-sock',
        // Rounds are driven by the bench; the timers would only disturb them.
        metering: { intervalSeconds: 3600 },
        vms: { reconcileIntervalSeconds: 3600 },
        drivers: { packages: [resolve(import.meta.dirname, '../../test/fleet/driver.ts')] },
      },
    }),
  );
  await run(kumo);
} finally {
  qemuReplies = null;
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await kumo?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  removeFleet(rig.dir, fleet);
  RpcClient.prototype.call = realCall;
  if (!reused && process.env.BENCH_KEEP_RIG !== '1')
    await rigDown().catch((err: unknown) => console.log(`the rig stays up: ${String(err)}`));
}
