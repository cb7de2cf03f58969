// bench/libvirt-rpc: Kumo's libvirt client against libvirt's C client, one rig host, TLS,
// libvirtd's default settings. Both make DOMAIN_GET_STATE calls on one connection: sequentially,
// then concurrently (Kumo: calls in flight; C: threads sharing the connection). Prints the
// figures and the ratios the foundation issue sets as targets. Not a test: nothing is asserted.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { domainXml } from '../../src/libvirt/xml/domain.ts';
import { rigUp } from '../../test/rig/index.ts';
import { ensurePythonLibvirt } from './python.ts';
import { type Result, runC, runKumoPipelined, runKumoSequential } from './runs.ts';

const CALLS = Number(process.env.BENCH_CALLS ?? 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WIDTHS = [4, 8, 32];

const here = dirname(fileURLToPath(import.meta.url));
ensurePythonLibvirt();
const rig = await rigUp(1);
const host = rig.hosts[0];
if (!host) throw new Error('the rig has no host');
const conn = await LibvirtConnection.open(host.tlsUri);
const name = 'kumo-bench-rpc';
const existing = await conn.domains.lookupByName(name).catch(() => null);
const dom =
  existing ??
  (await conn.domains.define(domainXml({ name, type: rig.domainType, memoryMiB: 32, vcpus: 1 })));

console.log(
  `libvirt-rpc: ${CALLS} DOMAIN_GET_STATE calls per run, ${ROUNDS} rounds, host ${host.name} over TLS`,
);
console.log(
  `node ${process.version}, libvirtd ${conn.libVersion}, ${execFileSync('nproc').toString().trim()} cores\n`,
);

// Rounds alternate C and Kumo so drift on a noisy machine hits both; the best round counts.
const results = new Map<string, Result[]>();
const add = (r: Result) => results.set(r.label, [...(results.get(r.label) ?? []), r]);
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runC(join(here, 'c_client.py'), host.tlsUri, name, CALLS, WIDTHS)) add(r);
  add(await runKumoSequential(conn, dom, CALLS));
  for (const w of WIDTHS) add(await runKumoPipelined(host.tlsUri, dom, CALLS, w, 4));
  for (const w of WIDTHS.filter((x) => x > 4))
    add(await runKumoPipelined(host.tlsUri, dom, CALLS, w, w));
}
await conn.domains.undefine(dom);
await conn.close();

const best = (label: string): Result => {
  const rs = results.get(label) ?? [];
  return rs.reduce((a, b) => (b.callsPerSecond > a.callsPerSecond ? b : a));
};
console.log('run                               calls/s    p50 µs   p99 µs');
for (const label of results.keys()) {
  const r = best(label);
  const p = (v: number | undefined) => (v === undefined ? '' : v.toFixed(0)).padStart(8);
  console.log(
    `${label.padEnd(32)} ${r.callsPerSecond.toFixed(0).padStart(8)} ${p(r.p50Us)} ${p(r.p99Us)}`,
  );
}
const cSeq = best('C sequential');
const kSeq = best('Kumo sequential');
const cBest = Math.max(...WIDTHS.map((w) => best(`C ${w} threads`).callsPerSecond));
const kBest = Math.max(
  ...[...results.keys()]
    .filter((l) => l.startsWith('Kumo') && l !== 'Kumo sequential')
    .map((l) => best(l).callsPerSecond),
);
const latencyRatio = kSeq.meanUs / cSeq.meanUs;
const throughputRatio = kBest / cBest;
console.log(
  `\nsequential mean latency Kumo/C: ${latencyRatio.toFixed(2)}x (target <= 1.20): ${latencyRatio <= 1.2 ? 'met' : 'NOT met'}`,
);
console.log(
  `best concurrent throughput Kumo/C: ${throughputRatio.toFixed(2)}x (target >= 1.00): ${throughputRatio >= 1 ? 'met' : 'NOT met'}`,
);
