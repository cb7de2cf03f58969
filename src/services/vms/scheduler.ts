import type { HostId } from '../../entities/ids.ts';

/** PlacementPolicy: `spread` evens load across hosts, `pack` fills hosts one by one. */
export type PlacementPolicy = 'spread' | 'pack';

/** HostCapacity is one candidate host: what it has, its overcommit, and what VMs there hold. */
export interface HostCapacity {
  readonly hostId: HostId;
  readonly cpus: number;
  readonly memoryBytes: bigint;
  readonly cpuOvercommit: number;
  readonly memoryOvercommit: number;
  readonly allocatedVcpus: number;
  readonly allocatedMemoryBytes: bigint;
}

/** VmSize is what a VM asks for. */
export interface VmSize {
  readonly vcpus: number;
  readonly memoryBytes: bigint;
}

/** capacityOf is what a host may give its VMs in all: its CPUs and memory under its overcommit. */
export function capacityOf(
  h: Pick<HostCapacity, 'cpus' | 'memoryBytes' | 'cpuOvercommit' | 'memoryOvercommit'>,
): { vcpus: number; memoryBytes: bigint } {
  return {
    vcpus: Math.floor(h.cpus * h.cpuOvercommit),
    memoryBytes: scale(h.memoryBytes, h.memoryOvercommit),
  };
}

/** fits says whether the VM fits on the host under its overcommit ratios. */
export function fits(h: HostCapacity, size: VmSize): boolean {
  const cap = capacityOf(h);
  return (
    h.allocatedVcpus + size.vcpus <= cap.vcpus &&
    h.allocatedMemoryBytes + size.memoryBytes <= cap.memoryBytes
  );
}

/**
 * place orders the hosts the VM fits on, best first: by the share of memory (then vCPUs) left
 * free after placing it, most free first for `spread`, least free first for `pack`.
 */
export function place(
  hosts: readonly HostCapacity[],
  size: VmSize,
  policy: PlacementPolicy,
): HostCapacity[] {
  const freeAfter = (h: HostCapacity) => {
    const cap = capacityOf(h);
    const mem =
      Number(cap.memoryBytes - h.allocatedMemoryBytes - size.memoryBytes) / Number(cap.memoryBytes);
    const cpu = (cap.vcpus - h.allocatedVcpus - size.vcpus) / cap.vcpus;
    return [mem, cpu] as const;
  };
  const sign = policy === 'spread' ? -1 : 1;
  return hosts
    .filter((h) => fits(h, size))
    .map((h) => ({ h, free: freeAfter(h) }))
    .sort(
      (a, b) =>
        sign * (a.free[0] - b.free[0]) ||
        sign * (a.free[1] - b.free[1]) ||
        a.h.hostId.localeCompare(b.h.hostId),
    )
    .map((x) => x.h);
}

// Overcommit ratios are decimals (1.5): scaled in thousandths so bigint stays exact.
function scale(bytes: bigint, ratio: number): bigint {
  return (bytes * BigInt(Math.round(ratio * 1000))) / 1000n;
}
