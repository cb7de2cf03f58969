import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  NonnullStoragePool,
  NonnullStorageVol,
  RemoteProgram,
} from '../generated/remote-protocol.gen.ts';
import { UNBOUNDED } from '../rpc/caller.ts';

/** PoolRef names a storage pool. */
export type PoolRef = NonnullStoragePool;
/** VolumeRef names a storage volume. */
export type VolumeRef = NonnullStorageVol;

/** VolumeInfo is a volume's size: capacity is the virtual size, allocation what it uses. */
export interface VolumeInfo {
  readonly type: number;
  readonly capacity: bigint;
  readonly allocation: bigint;
}

/** PoolInfo is a pool's state and sizes in bytes. */
export interface PoolInfo {
  readonly state: number;
  readonly capacity: bigint;
  readonly allocation: bigint;
  readonly available: bigint;
}

/** TransferRange selects part of a volume; length 0 means to the end. */
export interface TransferRange {
  readonly offset?: bigint;
  readonly length?: bigint;
}

/** PoolListFlags filter CONNECT_LIST_ALL_STORAGE_POOLS. */
export const PoolListFlags = { INACTIVE: 1, ACTIVE: 2, PERSISTENT: 4, TRANSIENT: 8 } as const;

/**
 * StorageApi manages pools and volumes and moves volume contents through libvirt streams,
 * so images reach hosts with no shared filesystem. A transfer holds its connection's socket:
 * give bulk transfers a connection of their own.
 */
export class StorageApi {
  private readonly remote: RemoteProgram;

  constructor(remote: RemoteProgram) {
    this.remote = remote;
  }

  async listPools(flags = 0): Promise<PoolRef[]> {
    return (await this.remote.connectListAllStoragePools({ needResults: 1, flags })).pools;
  }

  async lookupPool(name: string): Promise<PoolRef> {
    return (await this.remote.storagePoolLookupByName({ name })).pool;
  }

  /** definePool makes a pool persistent from its XML; build() and start() bring it up. */
  async definePool(xml: string): Promise<PoolRef> {
    return (await this.remote.storagePoolDefineXML({ xml, flags: 0 })).pool;
  }

  async buildPool(pool: PoolRef, flags = 0): Promise<void> {
    await this.remote.storagePoolBuild({ pool, flags });
  }

  async startPool(pool: PoolRef): Promise<void> {
    await this.remote.storagePoolCreate({ pool, flags: 0 });
  }

  async stopPool(pool: PoolRef): Promise<void> {
    await this.remote.storagePoolDestroy({ pool });
  }

  async undefinePool(pool: PoolRef): Promise<void> {
    await this.remote.storagePoolUndefine({ pool });
  }

  async refreshPool(pool: PoolRef): Promise<void> {
    await this.remote.storagePoolRefresh({ pool, flags: 0 });
  }

  async poolInfo(pool: PoolRef): Promise<PoolInfo> {
    const r = await this.remote.storagePoolGetInfo({ pool });
    return {
      state: r.state,
      capacity: r.capacity,
      allocation: r.allocation,
      available: r.available,
    };
  }

  async listVolumes(pool: PoolRef): Promise<VolumeRef[]> {
    return (await this.remote.storagePoolListAllVolumes({ pool, needResults: 1, flags: 0 })).vols;
  }

  async lookupVolume(pool: PoolRef, name: string): Promise<VolumeRef> {
    return (await this.remote.storageVolLookupByName({ pool, name })).vol;
  }

  /** createVolume creates a volume from its XML (a qcow2 overlay names its backing store there). */
  async createVolume(pool: PoolRef, xml: string, flags = 0): Promise<VolumeRef> {
    return (await this.remote.storageVolCreateXML({ pool, xml, flags })).vol;
  }

  /** createVolumeFrom creates a volume as a copy of another (flattening a backing chain). */
  async createVolumeFrom(
    pool: PoolRef,
    xml: string,
    source: VolumeRef,
    flags = 0,
  ): Promise<VolumeRef> {
    return (
      await this.remote.storageVolCreateXMLFrom({ pool, xml, clonevol: source, flags }, UNBOUNDED)
    ).vol;
  }

  async deleteVolume(vol: VolumeRef, flags = 0): Promise<void> {
    await this.remote.storageVolDelete({ vol, flags });
  }

  async volumeInfo(vol: VolumeRef): Promise<VolumeInfo> {
    const r = await this.remote.storageVolGetInfo({ vol });
    return { type: r.type, capacity: r.capacity, allocation: r.allocation };
  }

  async volumePath(vol: VolumeRef): Promise<string> {
    return (await this.remote.storageVolGetPath({ vol })).name;
  }

  /** upload writes `source` into the volume and resolves once the daemon confirms every byte. */
  async upload(vol: VolumeRef, source: Readable, range: TransferRange = {}): Promise<void> {
    const { stream } = await this.remote.storageVolUpload({
      vol,
      offset: range.offset ?? 0n,
      length: range.length ?? 0n,
      flags: 0,
    });
    await pipeline(source, stream);
  }

  /**
   * download streams the volume's bytes. Reading slowly is safe: the connection stops reading
   * its socket until the consumer catches up.
   */
  async download(vol: VolumeRef, range: TransferRange = {}): Promise<Readable> {
    const { stream } = await this.remote.storageVolDownload({
      vol,
      offset: range.offset ?? 0n,
      length: range.length ?? 0n,
      flags: 0,
    });
    return stream;
  }

  /** downloadTo streams the volume into `sink` and resolves when both ends are done. */
  async downloadTo(vol: VolumeRef, sink: Writable, range: TransferRange = {}): Promise<void> {
    await pipeline(await this.download(vol, range), sink);
  }
}
