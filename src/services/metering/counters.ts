import type { DomainStats } from '../../libvirt/api/domains.ts';

/** COUNTERS are the cumulative figures a running domain reports, each from zero at its start. */
export const COUNTERS = [
  'cpuNs',
  'diskReadBytes',
  'diskWriteBytes',
  'netRxBytes',
  'netTxBytes',
] as const;

/** Counter names one of COUNTERS. */
export type Counter = (typeof COUNTERS)[number];

/** Counters are amounts of each counter: a domain's totals, or what was used in a while. */
export type Counters = Readonly<Record<Counter, bigint>>;

/** ZERO is no use at all. */
export const ZERO: Counters = {
  cpuNs: 0n,
  diskReadBytes: 0n,
  diskWriteBytes: 0n,
  netRxBytes: 0n,
  netTxBytes: 0n,
};

/**
 * Reading is one domain's counters as seen once: where it ran, which run of it (libvirt's
 * domain id changes at every start, and on the destination of a migration), and when.
 */
export interface Reading {
  readonly hostId: string;
  readonly run: number;
  readonly at: Date;
  readonly counters: Counters;
  /** memoryBytes is the guest's memory now (the balloon's current size). */
  readonly memoryBytes: bigint;
}

const big = (v: unknown): bigint =>
  typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(Math.trunc(v)) : 0n;

// Sums `vcpu.<n>.time` over the vCPUs the record lists (`vcpu.maximum` of them at most).
function vcpuTimeOf(stats: DomainStats['stats']): bigint {
  const count = Number(stats['vcpu.maximum'] ?? 0);
  let total = 0n;
  for (let i = 0; i < count; i++) total += big(stats[`vcpu.${i}.time`]);
  return total;
}

// Sums `<group>.<n>.<field>` over every disk or NIC of a stats record.
function sumOf(stats: DomainStats['stats'], group: 'block' | 'net', field: string): bigint {
  const count = Number(stats[`${group}.count`] ?? 0);
  let total = 0n;
  for (let i = 0; i < count; i++) total += big(stats[`${group}.${i}.${field}`]);
  return total;
}

/**
 * countersOf reads a domain's totals from its get-all-domain-stats record (groups VCPU,
 * BALLOON, BLOCK, INTERFACE): CPU time of its vCPUs, bytes read and written over all disks,
 * bytes received and sent over all NICs, and the current memory (KiB in libvirt). CPU time is
 * the vCPUs' alone: QEMU's own threads (device emulation, a migration's transfer) are the
 * cloud's cost, not the guest's, and a migration must not count against its owner.
 */
export function countersOf(stats: DomainStats['stats']): {
  counters: Counters;
  memoryBytes: bigint;
} {
  return {
    counters: {
      cpuNs: vcpuTimeOf(stats),
      diskReadBytes: sumOf(stats, 'block', 'rd.bytes'),
      diskWriteBytes: sumOf(stats, 'block', 'wr.bytes'),
      netRxBytes: sumOf(stats, 'net', 'rx.bytes'),
      netTxBytes: sumOf(stats, 'net', 'tx.bytes'),
    },
    memoryBytes: big(stats['balloon.current']) * 1024n,
  };
}

/**
 * usedBetween is what a domain used from one reading to the next. The same run on the same
 * host: the difference. A new run (restarted, or arrived by migration) counts from zero, so
 * its whole totals are new; what the old run used after `before` and before it ended is not
 * seen (at most one interval). A counter that went backwards within one run (a disk or NIC
 * unplugged) counts what it shows now as new, never a negative amount.
 */
export function usedBetween(before: Reading | undefined, now: Reading): Counters {
  // A first sight is a baseline: its totals may have been counted before (by a controller
  // that has since restarted), and counting them twice is worse than missing them.
  if (!before) return ZERO;
  const sameRun = before.hostId === now.hostId && before.run === now.run;
  const out = {} as Record<Counter, bigint>;
  for (const c of COUNTERS) {
    const d = now.counters[c] - before.counters[c];
    out[c] = !sameRun ? now.counters[c] : d >= 0n ? d : now.counters[c];
  }
  return out;
}
