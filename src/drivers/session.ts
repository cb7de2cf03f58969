import type { LibvirtConnection } from '../libvirt/connection.ts';
import type { DriverError } from './errors.ts';

/** StorageFacts sum the capacity of a host's active storage pools, or of one named pool. */
export interface StorageFacts {
  /** pool is the pool measured, or null when every active pool is summed. */
  readonly pool: string | null;
  /** pools is how many pools were summed; 0 when the named pool does not exist. */
  readonly pools: number;
  readonly capacityBytes: number;
  readonly availableBytes: number;
}

/** HostFacts are what the controller records about a host each time it connects. */
export interface HostFacts {
  readonly hostname: string;
  /** uuid is the host's libvirt UUID (two hosts must not share one). Empty when unknown. */
  readonly uuid: string;
  /** arch is the host's CPU architecture, e.g. `x86_64`. */
  readonly arch: string;
  /** cpuModel is the host CPU model from the capabilities XML (`EPYC-Rome`, `kvm64`). */
  readonly cpuModel: string;
  /** cpus is the number of logical CPUs online. */
  readonly cpus: number;
  /** sockets is the total number of CPU sockets. */
  readonly sockets: number;
  /** cores is the number of cores per socket. */
  readonly cores: number;
  /** threads is the number of hardware threads per core. */
  readonly threads: number;
  readonly numaNodes: number;
  readonly mhz: number;
  /** memoryBytes is the memory libvirt reports for the host (NODE_GET_INFO). */
  readonly memoryBytes: number;
  /** hypervisor is the hypervisor and its version, e.g. `QEMU 7.2.0`. */
  readonly hypervisor: string;
  /** libvirtVersion is the daemon's libvirt version, e.g. `9.0.0`. */
  readonly libvirtVersion: string;
  /** kvm says the host can run hardware-accelerated guests of its own architecture. */
  readonly kvm: boolean;
  /** domainTypes are the guest domain types offered for the host's architecture (`kvm`, `qemu`). */
  readonly domainTypes: readonly string[];
  readonly storage: StorageFacts;
}

/** HostMetrics are a sample of a host's CPU and memory use. */
export interface HostMetrics {
  /** at is when the sample was taken (ms since the epoch). */
  readonly at: number;
  readonly cpu: {
    /** usage is the busy fraction of all CPUs (0..1) since the previous sample of this session. */
    readonly usage: number;
    /** intervalMs is the time the usage is measured over. */
    readonly intervalMs: number;
    /** The cumulative times since boot, in nanoseconds, summed over CPUs. */
    readonly userNs: bigint;
    readonly kernelNs: bigint;
    readonly idleNs: bigint;
    readonly iowaitNs: bigint;
  };
  readonly memory: {
    readonly totalBytes: number;
    readonly freeBytes: number;
    /** usedBytes is total less free, buffers and page cache. */
    readonly usedBytes: number;
    readonly buffersBytes: number;
    readonly cachedBytes: number;
  };
}

/** FactsOptions choose what facts() measures. */
export interface FactsOptions {
  /** storagePool measures this pool instead of summing every active pool. */
  readonly storagePool?: string;
}

/**
 * HypervisorSession is one open connection to a host through a driver. Services of later
 * issues (VMs, images, migration) work on `connection`; the host monitor uses the rest.
 */
export interface HypervisorSession {
  /** driver is the name of the driver that opened the session (`kvm-tls`). */
  readonly driver: string;
  /** uri is the host's URI without query parameters, fit for logs. */
  readonly uri: string;
  readonly connection: LibvirtConnection;
  readonly isOpen: boolean;
  /** closed resolves (never rejects) once the session is gone: closed by us, lost or hung. */
  readonly closed: Promise<DriverError>;
  /** facts reads what the controller records about the host. */
  facts(opts?: FactsOptions): Promise<HostFacts>;
  /** metrics samples CPU and memory use. */
  metrics(): Promise<HostMetrics>;
  close(): Promise<void>;
}
