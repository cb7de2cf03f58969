import type { RemoteProgram } from '../generated/remote-protocol.gen.ts';

// VIR_NODE_CPU_STATS_ALL_CPUS and VIR_NODE_MEMORY_STATS_ALL_CELLS: totals over the whole host.
const ALL = -1;

/** NodeInfo is what NODE_GET_INFO reports about a host's hardware. */
export interface NodeInfo {
  /** model is the CPU architecture string, e.g. `x86_64`. */
  readonly model: string;
  readonly memoryKiB: number;
  readonly cpus: number;
  readonly mhz: number;
  readonly nodes: number;
  readonly sockets: number;
  readonly cores: number;
  readonly threads: number;
}

/** HypervisorVersion is what CONNECT_GET_TYPE and CONNECT_GET_VERSION report. */
export interface HypervisorVersion {
  /** type is the driver's name for the hypervisor: `QEMU`, `TEST`. */
  readonly type: string;
  /** version is major * 1e6 + minor * 1e3 + micro. */
  readonly version: number;
}

/**
 * NodeCpuStats are cumulative CPU times in nanoseconds since boot, summed over every CPU. Fields
 * the host does not report (iowait on some kernels) are 0n.
 */
export interface NodeCpuStats {
  readonly kernel: bigint;
  readonly user: bigint;
  readonly idle: bigint;
  readonly iowait: bigint;
}

/** NodeMemoryStats are the host's memory figures in KiB, as the kernel counts them. */
export interface NodeMemoryStats {
  readonly totalKiB: bigint;
  readonly freeKiB: bigint;
  readonly buffersKiB: bigint;
  readonly cachedKiB: bigint;
}

/** CpuComparison is how a host's CPU compares with a guest CPU (virCPUCompareResult). */
export type CpuComparison = 'incompatible' | 'identical' | 'superset';

/** HostApi reads facts about the hypervisor host. */
export class HostApi {
  private readonly remote: RemoteProgram;

  constructor(remote: RemoteProgram) {
    this.remote = remote;
  }

  async info(): Promise<NodeInfo> {
    const r = await this.remote.nodeGetInfo();
    return {
      // model is char[32] on the wire: one word per character, NUL-terminated.
      model: String.fromCharCode(
        ...r.model
          .slice(0, r.model.indexOf(0) === -1 ? 32 : r.model.indexOf(0))
          .map((c) => c & 0xff),
      ),
      memoryKiB: Number(r.memory),
      cpus: r.cpus,
      mhz: r.mhz,
      nodes: r.nodes,
      sockets: r.sockets,
      cores: r.cores,
      threads: r.threads,
    };
  }

  /** capabilities returns the host's capabilities XML. */
  async capabilities(): Promise<string> {
    return (await this.remote.connectGetCapabilities()).capabilities;
  }

  async hostname(): Promise<string> {
    return (await this.remote.connectGetHostname()).hostname;
  }

  /** freeMemoryBytes is the host's free memory. */
  async freeMemoryBytes(): Promise<number> {
    return Number((await this.remote.nodeGetFreeMemory()).freeMem);
  }

  /** uri is the daemon's own name for this connection (`qemu:///system`). */
  async uri(): Promise<string> {
    return (await this.remote.connectGetURI()).uri;
  }

  /** hypervisor names the hypervisor and its version (`QEMU`, 7002000). */
  async hypervisor(): Promise<HypervisorVersion> {
    const [{ type }, { hvVer }] = await Promise.all([
      this.remote.connectGetType(),
      this.remote.connectGetVersion(),
    ]);
    return { type, version: Number(hvVer) };
  }

  /**
   * cpuStats reads the host's cumulative CPU times. Like every NODE_GET_*_STATS call it takes
   * two round trips: the first, with nparams 0, only says how many fields there are.
   */
  async cpuStats(): Promise<NodeCpuStats> {
    const { nparams } = await this.remote.nodeGetCPUStats({ cpuNum: ALL, nparams: 0, flags: 0 });
    const { params } = await this.remote.nodeGetCPUStats({ cpuNum: ALL, nparams, flags: 0 });
    const f = fields(params);
    return {
      kernel: f.get('kernel') ?? 0n,
      user: f.get('user') ?? 0n,
      idle: f.get('idle') ?? 0n,
      iowait: f.get('iowait') ?? 0n,
    };
  }

  /** memoryStats reads the host's memory figures (two round trips, as cpuStats). */
  async memoryStats(): Promise<NodeMemoryStats> {
    const { nparams } = await this.remote.nodeGetMemoryStats({
      cellNum: ALL,
      nparams: 0,
      flags: 0,
    });
    const { params } = await this.remote.nodeGetMemoryStats({ cellNum: ALL, nparams, flags: 0 });
    const f = fields(params);
    return {
      totalKiB: f.get('total') ?? 0n,
      freeKiB: f.get('free') ?? 0n,
      buffersKiB: f.get('buffers') ?? 0n,
      cachedKiB: f.get('cached') ?? 0n,
    };
  }

  /**
   * compareCpu says whether this host can run a guest CPU (`<cpu>` XML) with the given domain
   * type, architecture and machine: a superset or identical CPU can, an incompatible one cannot.
   */
  async compareCpu(
    cpuXml: string,
    guest: { virttype: string; arch: string; machine: string },
  ): Promise<CpuComparison> {
    const { result } = await this.remote.connectCompareHypervisorCPU({
      emulator: null,
      arch: guest.arch || null,
      machine: guest.machine || null,
      virttype: guest.virttype || null,
      xmlCPU: cpuXml,
      flags: 0,
    });
    return result === 1 ? 'identical' : result === 2 ? 'superset' : 'incompatible';
  }
}

function fields(params: ReadonlyArray<{ field: string; value: bigint }>): Map<string, bigint> {
  return new Map(params.map((p) => [p.field, p.value]));
}
