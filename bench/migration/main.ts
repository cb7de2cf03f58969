// bench/migration: live migration of one small running VM between two rig hosts over TLS,
// Kumo's client-driven migration (src/libvirt/migrate.ts, what vmMigrate runs) against
// `virsh migrate` with the same flags (libvirt's own client driving the same v3 sequence).
// Both copy the VM's qcow2 overlay incrementally onto an empty one made on the destination.
// Prints total time and guest downtime per run and the ratios Kumo/virsh. Nothing is asserted.
import { execFileSync } from 'node:child_process';
import type { DomainRef } from '../../src/libvirt/api/domains.ts';
import { JobStatsFlags } from '../../src/libvirt/api/jobs.ts';
import type { PoolRef } from '../../src/libvirt/api/storage.ts';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { MigrateFlags, migrate } from '../../src/libvirt/migrate.ts';
import { domainXml } from '../../src/libvirt/xml/domain.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { type RigHost, rigUp } from '../../test/rig/index.ts';
import { ensurePool } from '../../test/support/storage.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MEMORY_MIB = Number(process.env.BENCH_MEMORY_MIB ?? 256);
const DISK = 64n << 20n;
const NAME = 'kumo-bench-migration';

interface Side {
  readonly host: RigHost;
  readonly conn: LibvirtConnection;
  readonly pool: PoolRef;
}
interface Run {
  readonly tool: 'kumo' | 'virsh';
  readonly totalMs: number;
  readonly downtimeMs: number;
  /** clientMs is the client's turn inside the downtime: from the source's reply to Perform to
   * the destination's receipt of Finish (libvirt's downtime less its downtime_net). */
  readonly clientMs: number;
}

const rig = await rigUp(2);
const [h1, h2] = rig.hosts;
if (!h1 || !h2) throw new Error('the rig needs two hosts');
const sides: Side[] = [];
for (const host of [h1, h2]) {
  const conn = await LibvirtConnection.open(host.tlsUri);
  sides.push({ host, conn, pool: await ensurePool(conn) });
}
const [a, b] = sides as [Side, Side];

async function removeDomain(s: Side): Promise<void> {
  const dom = await s.conn.domains.lookupByName(NAME).catch(() => null);
  if (!dom) return;
  await s.conn.domains.destroy(dom).catch(() => undefined);
  await s.conn.domains.undefine(dom).catch(() => undefined);
}

async function deleteVolume(s: Side, name: string): Promise<void> {
  const vol = await s.conn.storage.lookupVolume(s.pool, name).catch(() => null);
  if (vol) await s.conn.storage.deleteVolume(vol);
}

// An empty overlay on the cached base, at the same path on both hosts, as Kumo lays them out.
async function freshOverlay(s: Side): Promise<string> {
  await deleteVolume(s, `${NAME}.qcow2`);
  const base =
    (await s.conn.storage.lookupVolume(s.pool, `${NAME}-base.qcow2`).catch(() => null)) ??
    (await s.conn.storage.createVolume(
      s.pool,
      volumeXml({ name: `${NAME}-base.qcow2`, capacityBytes: DISK, format: 'qcow2' }),
    ));
  const overlay = await s.conn.storage.createVolume(
    s.pool,
    volumeXml({
      name: `${NAME}.qcow2`,
      capacityBytes: DISK,
      format: 'qcow2',
      backing: { path: await s.conn.storage.volumePath(base), format: 'qcow2' },
    }),
  );
  return s.conn.storage.volumePath(overlay);
}

async function downtime(to: Side): Promise<{ downtimeMs: number; clientMs: number }> {
  const dom = await to.conn.domains.lookupByName(NAME);
  const { stats } = await to.conn.jobs.stats(dom, JobStatsFlags.COMPLETED);
  const downtimeMs = Number(stats.downtime ?? Number.NaN);
  return { downtimeMs, clientMs: downtimeMs - Number(stats.downtime_net ?? Number.NaN) };
}

const FLAGS =
  MigrateFlags.LIVE |
  MigrateFlags.PERSIST_DEST |
  MigrateFlags.UNDEFINE_SOURCE |
  MigrateFlags.NON_SHARED_INC;

async function withKumo(from: Side, to: Side, dom: DomainRef): Promise<number> {
  const t0 = performance.now();
  await migrate(from.conn, to.conn, dom, {
    flags: FLAGS,
    params: { migrateUri: `tcp://${to.host.ip}`, migrateDisks: ['vda'] },
  });
  return performance.now() - t0;
}

function withVirsh(from: Side, to: Side): number {
  const t0 = performance.now();
  execFileSync('virsh', [
    '-c',
    from.host.tlsUri,
    'migrate',
    '--live',
    '--persistent',
    '--undefinesource',
    '--copy-storage-inc',
    '--migrate-disks',
    'vda',
    '--migrateuri',
    `tcp://${to.host.ip}`,
    NAME,
    to.host.tlsUri,
  ]);
  return performance.now() - t0;
}

// One migration from -> to with the tool; the VM runs on `from` beforehand.
async function once(tool: Run['tool'], from: Side, to: Side): Promise<Run> {
  await freshOverlay(to);
  const dom = await from.conn.domains.lookupByName(NAME);
  const totalMs = tool === 'kumo' ? await withKumo(from, to, dom) : withVirsh(from, to);
  const run = { tool, totalMs, ...(await downtime(to)) };
  await deleteVolume(from, `${NAME}.qcow2`);
  return run;
}

await Promise.all([removeDomain(a), removeDomain(b)]);
const disk = await freshOverlay(a);
await deleteVolume(b, `${NAME}.qcow2`);
await a.conn.domains.start(
  await a.conn.domains.define(
    domainXml({
      name: NAME,
      type: rig.domainType,
      memoryMiB: MEMORY_MIB,
      vcpus: 1,
      disks: [{ file: disk, format: 'qcow2', target: 'vda' }],
    }),
  ),
);
console.log(
  `migration: ${ROUNDS} rounds, a ${MEMORY_MIB} MiB ${rig.domainType} VM with a qcow2 overlay, ${a.host.name} <-> ${b.host.name} over TLS`,
);
console.log(
  `node ${process.version}, libvirtd ${a.conn.libVersion}, ${execFileSync('nproc').toString().trim()} cores\n`,
);

// Each round moves the VM there and back with each tool, the order alternating between rounds,
// so that drift and direction hit both alike.
const runs: Run[] = [];
let here = a;
let there = b;
// Round -1 warms both tools up (connections, QEMU's first migration) and is not counted.
for (let round = -1; round < ROUNDS; round++) {
  const order: Run['tool'][] = round % 2 === 0 ? ['kumo', 'virsh'] : ['virsh', 'kumo'];
  if (round === 0) console.log('');
  for (const tool of [...order, ...order]) {
    const r = await once(tool, here, there);
    if (round >= 0) runs.push(r);
    console.log(
      `${tool.padEnd(6)} ${here.host.name} -> ${there.host.name}  total ${r.totalMs.toFixed(0).padStart(6)} ms  downtime ${String(r.downtimeMs).padStart(4)} ms (client's turn ${r.clientMs} ms)`,
    );
    [here, there] = [there, here];
  }
}
await removeDomain(here);
for (const s of sides) {
  await deleteVolume(s, `${NAME}.qcow2`);
  await deleteVolume(s, `${NAME}-base.qcow2`);
  await s.conn.close();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const of = (tool: Run['tool'], key: 'totalMs' | 'downtimeMs' | 'clientMs') =>
  median(runs.filter((r) => r.tool === tool).map((r) => r[key]));
console.log("\n        median total ms   median downtime ms   median client's turn ms");
for (const tool of ['kumo', 'virsh'] as const)
  console.log(
    `${tool.padEnd(6)} ${of(tool, 'totalMs').toFixed(0).padStart(16)} ${of(tool, 'downtimeMs').toFixed(0).padStart(20)} ${of(tool, 'clientMs').toFixed(1).padStart(25)}`,
  );
for (const key of ['totalMs', 'downtimeMs'] as const) {
  const ratio = of('kumo', key) / of('virsh', key);
  console.log(
    `${key === 'totalMs' ? 'total time' : 'downtime'} Kumo/virsh: ${ratio.toFixed(2)}x (target <= 1.10): ${ratio <= 1.1 ? 'met' : 'NOT met'}`,
  );
}
