import type { RemoteProgram } from '../generated/remote-protocol.gen.ts';

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
}
