import { describe, expect, it } from 'vitest';
import { countersOf, type Reading, usedBetween, ZERO } from './counters.ts';

const reading = (over: Partial<Reading> & { cpu?: bigint; wr?: bigint } = {}): Reading => ({
  hostId: over.hostId ?? 'hv1',
  run: over.run ?? 7,
  at: over.at ?? new Date(0),
  memoryBytes: 0n,
  counters: { ...ZERO, cpuNs: over.cpu ?? 0n, diskWriteBytes: over.wr ?? 0n },
});

describe('countersOf', () => {
  it("sums every vCPU, disk and NIC of a stats record (not QEMU's own CPU time) and reads memory in bytes", () => {
    const { counters, memoryBytes } = countersOf({
      'cpu.time': 9_000_000_000n,
      'vcpu.current': 2,
      'vcpu.maximum': 3,
      'vcpu.0.time': 3_000_000_000n,
      'vcpu.1.time': 2_000_000_000n,
      'balloon.current': 131072n,
      'block.count': 2,
      'block.0.rd.bytes': 100n,
      'block.0.wr.bytes': 2n ** 60n,
      'block.1.rd.bytes': 1n,
      'block.1.wr.bytes': 3n,
      'net.count': 1,
      'net.0.rx.bytes': 40n,
      'net.0.tx.bytes': 50n,
    });
    expect(counters).toEqual({
      cpuNs: 5_000_000_000n,
      diskReadBytes: 101n,
      diskWriteBytes: 2n ** 60n + 3n,
      netRxBytes: 40n,
      netTxBytes: 50n,
    });
    expect(memoryBytes).toBe(128n * 1024n * 1024n);
  });

  it('reads a record without those groups (a stopped domain) as zero', () => {
    expect(countersOf({ 'state.state': 5 })).toEqual({ counters: ZERO, memoryBytes: 0n });
  });
});

describe('usedBetween', () => {
  it('takes a first sight as a baseline: nothing is counted twice', () => {
    expect(usedBetween(undefined, reading({ cpu: 900n }))).toEqual(ZERO);
  });

  it('counts the difference within one run', () => {
    expect(usedBetween(reading({ cpu: 100n, wr: 10n }), reading({ cpu: 250n, wr: 10n }))).toEqual({
      ...ZERO,
      cpuNs: 150n,
    });
  });

  it('counts a restarted run, or one on another host after a migration, from zero', () => {
    const before = reading({ cpu: 1_000n, wr: 500n });
    expect(usedBetween(before, reading({ run: 8, cpu: 30n, wr: 4n }))).toEqual({
      ...ZERO,
      cpuNs: 30n,
      diskWriteBytes: 4n,
    });
    expect(usedBetween(before, reading({ hostId: 'hv2', run: 7, cpu: 30n }))).toEqual({
      ...ZERO,
      cpuNs: 30n,
    });
  });

  it('never counts a negative amount when a counter goes back within a run', () => {
    expect(usedBetween(reading({ wr: 500n }), reading({ wr: 20n }))).toEqual({
      ...ZERO,
      diskWriteBytes: 20n,
    });
  });
});
