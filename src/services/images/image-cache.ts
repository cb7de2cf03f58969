import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import { Host } from '../../entities/host.ts';
import type { HostId, ImageId } from '../../entities/ids.ts';
import { Image, type ImageFormat } from '../../entities/image.ts';
import { ImageCopy } from '../../entities/image-copy.ts';
import { Vm } from '../../entities/vm.ts';
import type { PoolRef } from '../../libvirt/api/storage.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { isNotFound } from '../../libvirt/errors.ts';
import { volumeXml } from '../../libvirt/xml/storage.ts';
import { ServiceError } from '../errors.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import type { HostPools } from '../hosts/host-pool.ts';
import { storagePeers } from '../hosts/storage-peers.ts';
import type { ImageStore } from './image-store.ts';

/** CachedImage is what a host copy of an image gives a VM disk: its volume and path there. */
export interface CachedImage {
  readonly volume: string;
  readonly path: string;
  readonly format: ImageFormat;
}

/** ImageToCache is what the cache needs to know of an image. */
export interface ImageToCache {
  readonly id: ImageId;
  readonly format: ImageFormat;
  readonly sizeBytes: bigint;
  readonly sha512: string;
}

/** volumeOfImage names an image's copy in a host's pool. */
export function volumeOfImage(id: ImageId): string {
  return `img-${id}`;
}

/**
 * ImageCache puts images into hosts' Kumo pools: the first VM on a host that needs an image has
 * it uploaded through libvirt's volume upload stream, read back and checksummed, and recorded as
 * an ImageCopy; later VMs there reuse it. Concurrent requests for one image on one host share
 * one upload. A copy that no VM uses any more is removed by `prune`.
 */
export class ImageCache {
  private readonly fork: () => EntityManager;
  private readonly monitor: HostMonitor;
  private readonly pools: HostPools;
  private readonly store: ImageStore;
  private readonly inflight = new Map<string, Promise<CachedImage>>();

  constructor(
    fork: () => EntityManager,
    monitor: HostMonitor,
    pools: HostPools,
    store: ImageStore,
  ) {
    this.fork = fork;
    this.monitor = monitor;
    this.pools = pools;
    this.store = store;
  }

  /** ensure makes sure the image is cached on the host and returns its volume there. */
  async ensure(
    hostId: HostId,
    image: ImageToCache,
    onProgress: (fraction: number) => void = () => {},
  ): Promise<CachedImage> {
    // One upload per storage: hosts that share it wait for the same one.
    const peers = await storagePeers(this.fork(), hostId);
    const key = `${[...peers].sort()[0]}/${image.id}`;
    const before = this.inflight.get(key);
    if (before) await before.catch(() => undefined);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.load(hostId, peers, image, onProgress).finally(() =>
        this.inflight.delete(key),
      );
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * prune removes the copies of an image that back no VM disk, on every host that can be
   * reached now; copies on hosts that cannot are left for a later prune.
   */
  async prune(imageId: ImageId): Promise<void> {
    await this.pruneWhere({ imageId });
  }

  /**
   * pruneOrphans prunes the host's copies of images gone from the catalog, and uploads that
   * are not under way in this process (a restart cut them short).
   */
  async pruneOrphans(hostId: HostId): Promise<void> {
    const em = this.fork();
    const candidates = await em
      .createQueryBuilder(ImageCopy, 'c')
      .select(['imageId', 'state'])
      .where({
        host: hostId,
        $or: [
          { state: 'UPLOADING' },
          { imageId: { $nin: em.createQueryBuilder(Image, 'i').select('i.id') } },
        ],
      })
      .execute<Array<Pick<ImageCopy, 'imageId' | 'state'>>>('all');
    const stale = [
      ...new Set(
        candidates
          .filter((c) => c.state !== 'UPLOADING' || !this.inflight.has(`${hostId}/${c.imageId}`))
          .map((c) => c.imageId),
      ),
    ];
    if (stale.length > 0) await this.pruneWhere({ host: hostId, imageId: { $in: stale } });
  }

  /** pruneVolume prunes one host's copy, by volume, if its image is gone from the catalog. */
  async pruneVolume(hostId: HostId, volume: string): Promise<void> {
    const em = this.fork();
    const copy = await em.findOne(ImageCopy, { host: hostId, volume });
    if (!copy || (await em.count(Image, { id: copy.imageId })) > 0) return;
    await this.pruneWhere({ id: copy.id });
  }

  // A copy goes once no VM on a host that sees it backs a disk with it; on shared storage the
  // file is one for all its hosts, so their rows go with it.
  private async pruneWhere(where: FilterQuery<ImageCopy>): Promise<void> {
    const em = this.fork();
    for (const copy of await em.find(ImageCopy, where)) {
      const peers = await storagePeers(em, copy.host.id);
      if (await em.count(Vm, { host: { $in: peers }, baseVolume: copy.volume })) continue;
      const session = this.monitor.session(copy.host.id);
      if (!session) continue;
      const pool = await this.pools.ensure(session.connection);
      await deleteVolume(session.connection, pool, copy.volume);
      await em.nativeDelete(ImageCopy, { host: { $in: peers }, imageId: copy.imageId });
    }
  }

  private async load(
    hostId: HostId,
    peers: readonly HostId[],
    image: ImageToCache,
    onProgress: (fraction: number) => void,
  ): Promise<CachedImage> {
    const em = this.fork();
    const session = this.monitor.session(hostId);
    if (!session)
      throw new ServiceError('UNAVAILABLE', `host ${hostId} is not connected`, 'input.host');
    const conn = session.connection;
    const pool = await this.pools.ensure(conn);
    const volume = volumeOfImage(image.id);
    const cached = { volume, path: this.pools.volumePath(volume), format: image.format };
    let copy = await em.findOne(ImageCopy, { host: hostId, imageId: image.id });
    if (copy?.state === 'READY') {
      if (await volumeExists(conn, pool, volume)) return cached;
      // The volume went behind the controller's back: upload it again.
    }
    copy ??= em.create(ImageCopy, {
      imageId: image.id,
      host: em.getReference(Host, hostId),
      volume,
    });
    // On shared storage a peer's verified copy is this host's too, once its pool sees the file.
    const shared =
      peers.length > 1 &&
      (await em.count(ImageCopy, {
        host: { $in: peers.filter((p) => p !== hostId) },
        imageId: image.id,
        state: 'READY',
      })) > 0;
    if (shared) {
      await conn.storage.refreshPool(pool);
      if (await volumeExists(conn, pool, volume)) {
        copy.state = 'READY';
        await em.flush();
        return cached;
      }
    }
    copy.state = 'UPLOADING';
    await em.flush();
    try {
      await deleteVolume(conn, pool, volume);
      await this.upload(hostId, image, volume, onProgress);
      copy.state = 'READY';
      await em.flush();
      return cached;
    } catch (err) {
      await deleteVolume(conn, pool, volume).catch(() => undefined);
      em.remove(copy);
      await em.flush().catch(() => undefined);
      throw err;
    }
  }

  // Uploads over a session of its own (a transfer holds its connection), then reads the volume
  // back and compares its SHA-512 with the image's: a copy is trusted only once verified.
  private async upload(
    hostId: HostId,
    image: ImageToCache,
    volume: string,
    onProgress: (fraction: number) => void,
  ): Promise<void> {
    const session = await this.monitor.openSession(hostId);
    try {
      const conn = session.connection;
      const pool = await this.pools.ensure(conn);
      const vol = await conn.storage.createVolume(
        pool,
        volumeXml({ name: volume, capacityBytes: image.sizeBytes, format: 'raw' }),
      );
      let sent = 0n;
      const total = image.sizeBytes * 2n;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          sent += BigInt(chunk.length);
          onProgress(Number(sent) / Number(total));
          cb(null, chunk);
        },
      });
      await conn.storage.upload(
        vol,
        createReadStream(this.store.pathOf(image.id, image.format)).pipe(meter),
      );
      const hash = createHash('sha512');
      let received = 0n;
      await conn.storage.downloadTo(
        vol,
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            received += BigInt(chunk.length);
            hash.update(chunk);
            onProgress(Number(image.sizeBytes + received) / Number(total));
            cb();
          },
        }),
      );
      const sha512 = hash.digest('hex');
      if (received !== image.sizeBytes || sha512 !== image.sha512) {
        throw new ServiceError(
          'UNAVAILABLE',
          `the copy of image ${image.id} on host ${hostId} does not match the image (${received} of ${image.sizeBytes} bytes read back)`,
        );
      }
      // The dir pool learns the file's real format (qcow2 or raw) from its header.
      await conn.storage.refreshPool(pool);
    } finally {
      await session.close();
    }
  }
}

async function volumeExists(
  conn: LibvirtConnection,
  pool: PoolRef,
  name: string,
): Promise<boolean> {
  try {
    await conn.storage.lookupVolume(pool, name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** deleteVolume deletes a volume of the pool if it exists. */
export async function deleteVolume(
  conn: LibvirtConnection,
  pool: PoolRef,
  name: string,
): Promise<void> {
  try {
    await conn.storage.deleteVolume(await conn.storage.lookupVolume(pool, name));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
