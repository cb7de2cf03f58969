import type { Duplex } from 'node:stream';
import type { NonnullDomain, RemoteProgram } from '../generated/remote-protocol.gen.ts';
import type { CallOptions } from '../rpc/caller.ts';
import { type TypedValue, typedParamsToRecord } from '../typed-params.ts';
import { formatUuid, parseUuid } from '../uuid.ts';

/** DomainRef names one domain: the wire handle plus its UUID as a string. */
export interface DomainRef {
  readonly name: string;
  readonly uuid: string;
  /** id is the running domain's id, -1 when it is not running (at the time it was read). */
  readonly id: number;
  readonly handle: NonnullDomain;
}

/** DomainState is virDomainState, by name. */
export type DomainState =
  | 'nostate'
  | 'running'
  | 'blocked'
  | 'paused'
  | 'shutdown'
  | 'shutoff'
  | 'crashed'
  | 'pmsuspended';

const STATES: readonly DomainState[] = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
];

/** domainState names a virDomainState number. */
export function domainState(n: number): DomainState {
  return STATES[n] ?? 'nostate';
}

/** ListFlags filter CONNECT_LIST_ALL_DOMAINS (virConnectListAllDomainsFlags). */
export const ListFlags = {
  ACTIVE: 1,
  INACTIVE: 2,
  PERSISTENT: 4,
  TRANSIENT: 8,
  RUNNING: 16,
  PAUSED: 32,
  SHUTOFF: 64,
} as const;

/** UndefineFlags are virDomainUndefineFlagsValues. */
export const UndefineFlags = {
  MANAGED_SAVE: 1,
  SNAPSHOTS_METADATA: 2,
  NVRAM: 4,
  KEEP_NVRAM: 8,
  CHECKPOINTS_METADATA: 16,
} as const;

/** StartFlags are virDomainCreateFlags. */
export const StartFlags = {
  PAUSED: 1,
  AUTODESTROY: 2,
  BYPASS_CACHE: 4,
  FORCE_BOOT: 8,
  VALIDATE: 16,
} as const;

/** ConsoleFlags are virDomainConsoleFlags. */
export const ConsoleFlags = { FORCE: 1, SAFE: 2 } as const;

/** ModificationFlags choose the live domain, its persistent config, or both (virDomainModificationImpact). */
export const ModificationFlags = { CURRENT: 0, LIVE: 1, CONFIG: 2 } as const;

/** StatsGroups are virDomainStatsTypes bits for CONNECT_GET_ALL_DOMAIN_STATS. */
export const StatsGroups = {
  STATE: 1,
  CPU_TOTAL: 2,
  BALLOON: 4,
  VCPU: 8,
  INTERFACE: 16,
  BLOCK: 32,
  PERF: 64,
  IOTHREAD: 128,
  MEMORY: 256,
  DIRTYRATE: 512,
} as const;

/** DomainStats is one domain's statistics record, flattened (`cpu.time`, `block.0.rd.bytes`, ...). */
export interface DomainStats {
  readonly domain: DomainRef;
  readonly stats: Record<string, TypedValue>;
}

/** domainRef wraps a wire handle. */
export function domainRef(handle: NonnullDomain): DomainRef {
  return { name: handle.name, uuid: formatUuid(handle.uuid), id: handle.id, handle };
}

/** DomainApi runs a domain's life cycle and reads its state. */
export class DomainApi {
  private readonly remote: RemoteProgram;

  constructor(remote: RemoteProgram) {
    this.remote = remote;
  }

  /** list returns all domains, optionally filtered by ListFlags. */
  async list(flags = 0): Promise<DomainRef[]> {
    const r = await this.remote.connectListAllDomains({ needResults: 1, flags });
    return r.domains.map(domainRef);
  }

  async lookupByName(name: string): Promise<DomainRef> {
    return domainRef((await this.remote.domainLookupByName({ name })).dom);
  }

  async lookupByUuid(uuid: string): Promise<DomainRef> {
    return domainRef((await this.remote.domainLookupByUUID({ uuid: parseUuid(uuid) })).dom);
  }

  /** define makes a domain persistent from its XML (or updates it); flags 1 validates against the schema. */
  async define(xml: string, flags = 0): Promise<DomainRef> {
    return domainRef((await this.remote.domainDefineXMLFlags({ xml, flags })).dom);
  }

  async undefine(dom: DomainRef, flags = 0): Promise<void> {
    await this.remote.domainUndefineFlags({ dom: dom.handle, flags });
  }

  /** start boots a defined domain and returns it with its new id. */
  async start(dom: DomainRef, flags = 0): Promise<DomainRef> {
    return domainRef((await this.remote.domainCreateWithFlags({ dom: dom.handle, flags })).dom);
  }

  /** shutdown asks the guest to power off (ACPI by default). */
  async shutdown(dom: DomainRef, flags = 0): Promise<void> {
    await this.remote.domainShutdownFlags({ dom: dom.handle, flags });
  }

  /** destroy stops the domain at once, like pulling the plug. */
  async destroy(dom: DomainRef, flags = 0): Promise<void> {
    await this.remote.domainDestroyFlags({ dom: dom.handle, flags });
  }

  async suspend(dom: DomainRef): Promise<void> {
    await this.remote.domainSuspend({ dom: dom.handle });
  }

  async resume(dom: DomainRef): Promise<void> {
    await this.remote.domainResume({ dom: dom.handle });
  }

  async reboot(dom: DomainRef, flags = 0): Promise<void> {
    await this.remote.domainReboot({ dom: dom.handle, flags });
  }

  async xml(dom: DomainRef, flags = 0): Promise<string> {
    return (await this.remote.domainGetXMLDesc({ dom: dom.handle, flags })).xml;
  }

  /** updateDevice changes a device in place (a display's password, say); flags as ModificationFlags. */
  async updateDevice(dom: DomainRef, xml: string, flags: number): Promise<void> {
    await this.remote.domainUpdateDeviceFlags({ dom: dom.handle, xml, flags });
  }

  async state(dom: DomainRef): Promise<{ state: DomainState; reason: number }> {
    const r = await this.remote.domainGetState({ dom: dom.handle, flags: 0 });
    return { state: domainState(r.state), reason: r.reason };
  }

  /** setMemory sets the balloon target (or maximum, with flags) in KiB. */
  async setMemory(
    dom: DomainRef,
    kib: number,
    flags: number = ModificationFlags.CURRENT,
  ): Promise<void> {
    await this.remote.domainSetMemoryFlags({ dom: dom.handle, memory: BigInt(kib), flags });
  }

  async setVcpus(
    dom: DomainRef,
    count: number,
    flags: number = ModificationFlags.CURRENT,
  ): Promise<void> {
    await this.remote.domainSetVcpusFlags({ dom: dom.handle, nvcpus: count, flags });
  }

  /**
   * openConsole attaches to a running domain's console (the first serial console, or the device
   * alias `device`): guest output is read from the stream, keystrokes written to it. FORCE takes
   * the console over from another client, who then sees the stream end: at once, or, when the
   * daemon was sending it output at that moment, at its next write (libvirtd signals an abort
   * only to a stream it is waiting on).
   */
  async openConsole(dom: DomainRef, device: string | null = null, flags = 0): Promise<Duplex> {
    const { stream } = await this.remote.domainOpenConsole({
      dom: dom.handle,
      devName: device,
      flags,
    });
    return stream;
  }

  /** stats reads statistics for the given domains, or all domains when `doms` is empty. */
  async stats(
    doms: readonly DomainRef[],
    groups: number,
    flags = 0,
    opts?: CallOptions,
  ): Promise<DomainStats[]> {
    const r = await this.remote.connectGetAllDomainStats(
      { doms: doms.map((d) => d.handle), stats: groups, flags },
      opts,
    );
    return r.retStats.map((rec) => ({
      domain: domainRef(rec.dom),
      stats: typedParamsToRecord(rec.params),
    }));
  }
}
