import { describe, expect, it } from 'vitest';
import type { HostId } from '../../entities/ids.ts';
import { fits, type HostCapacity, place } from './scheduler.ts';

const GiB = 1024n ** 3n;

function host(id: string, over: Partial<HostCapacity> = {}): HostCapacity {
  return {
    hostId: id as HostId,
    cpus: 4,
    memoryBytes: 8n * GiB,
    cpuOvercommit: 1,
    memoryOvercommit: 1,
    allocatedVcpus: 0,
    allocatedMemoryBytes: 0n,
    ...over,
  };
}

describe('scheduler', () => {
  it('fits within the overcommit ratios, to the byte', () => {
    const h = host('a', { allocatedMemoryBytes: 6n * GiB, allocatedVcpus: 3 });
    expect(fits(h, { vcpus: 1, memoryBytes: 2n * GiB })).toBe(true);
    expect(fits(h, { vcpus: 1, memoryBytes: 2n * GiB + 1n })).toBe(false);
    expect(fits(h, { vcpus: 2, memoryBytes: GiB })).toBe(false);
    expect(fits({ ...h, cpuOvercommit: 1.5 }, { vcpus: 3, memoryBytes: GiB })).toBe(true);
  });

  it('spreads onto the emptiest host and packs onto the fullest that fits', () => {
    const hosts = [
      host('busy', { allocatedMemoryBytes: 6n * GiB }),
      host('idle'),
      host('full', { allocatedMemoryBytes: 8n * GiB }),
    ];
    const size = { vcpus: 1, memoryBytes: GiB };
    expect(place(hosts, size, 'spread').map((h) => h.hostId)).toEqual(['idle', 'busy']);
    expect(place(hosts, size, 'pack').map((h) => h.hostId)).toEqual(['busy', 'idle']);
    expect(place(hosts, { vcpus: 1, memoryBytes: 9n * GiB }, 'spread')).toEqual([]);
  });
});
