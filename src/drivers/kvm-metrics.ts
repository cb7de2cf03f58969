import { setTimeout as sleep } from 'node:timers/promises';
import type { HostApi, NodeCpuStats, NodeMemoryStats } from '../libvirt/api/host.ts';
import { isUnsupported } from '../libvirt/errors.ts';
import type { HostMetrics } from './session.ts';

// Usage is a rate: a session's first sample needs a second reading this much later.
const FIRST_INTERVAL_MS = 250;

/**
 * MetricsSampler turns the host's cumulative CPU times into a usage fraction between two
 * samples, keeping the previous one, and reads memory alongside.
 */
export class MetricsSampler {
  private readonly host: HostApi;
  private last: { at: number; cpu: NodeCpuStats } | null = null;
  private memoryStats = true;

  constructor(host: HostApi) {
    this.host = host;
  }

  async sample(): Promise<HostMetrics> {
    let prev = this.last;
    if (prev === null) {
      prev = { at: Date.now(), cpu: await this.host.cpuStats() };
      await sleep(FIRST_INTERVAL_MS);
    }
    const [cpu, memory] = await Promise.all([this.host.cpuStats(), this.memory()]);
    const at = Date.now();
    this.last = { at, cpu };
    const busy = cpu.user + cpu.kernel - (prev.cpu.user + prev.cpu.kernel);
    const total = busy + cpu.idle + cpu.iowait - (prev.cpu.idle + prev.cpu.iowait);
    const usage = total > 0n ? Math.min(1, Math.max(0, Number(busy) / Number(total))) : 0;
    const kib = (v: bigint) => Number(v) * 1024;
    const totalBytes = kib(memory.totalKiB);
    const freeBytes = kib(memory.freeKiB);
    const buffersBytes = kib(memory.buffersKiB);
    const cachedBytes = kib(memory.cachedKiB);
    return {
      at,
      cpu: {
        usage,
        intervalMs: at - prev.at,
        userNs: cpu.user,
        kernelNs: cpu.kernel,
        idleNs: cpu.idle,
        iowaitNs: cpu.iowait,
      },
      memory: {
        totalBytes,
        freeBytes,
        usedBytes: Math.max(0, totalBytes - freeBytes - buffersBytes - cachedBytes),
        buffersBytes,
        cachedBytes,
      },
    };
  }

  // Some drivers (libvirt's test driver) lack NODE_GET_MEMORY_STATS: fall back to the node
  // info's total and NODE_GET_FREE_MEMORY, without buffers and cache.
  private async memory(): Promise<NodeMemoryStats> {
    if (this.memoryStats) {
      try {
        return await this.host.memoryStats();
      } catch (err) {
        if (!isUnsupported(err)) throw err;
        this.memoryStats = false;
      }
    }
    const [info, free] = await Promise.all([this.host.info(), this.host.freeMemoryBytes()]);
    return {
      totalKiB: BigInt(info.memoryKiB),
      freeKiB: BigInt(Math.floor(free / 1024)),
      buffersKiB: 0n,
      cachedKiB: 0n,
    };
  }
}
