import type { PoolRef } from '../../libvirt/api/storage.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { isNotFound } from '../../libvirt/errors.ts';
import { dirPoolXml } from '../../libvirt/xml/storage.ts';

/** PoolSettings name Kumo's storage pool on every host. */
export interface PoolSettings {
  readonly name: string;
  readonly path: string;
}

const POOL_RUNNING = 2;

/**
 * HostPools finds Kumo's storage pool on a host, defining, building and starting it the first
 * time. The answer is remembered per connection, so each session asks the daemon once.
 */
export class HostPools {
  readonly settings: PoolSettings;
  private readonly known = new WeakMap<LibvirtConnection, Promise<PoolRef>>();

  constructor(settings: PoolSettings) {
    this.settings = settings;
  }

  /** ensure returns the pool on the connection's host, creating it when it is missing. */
  ensure(conn: LibvirtConnection): Promise<PoolRef> {
    let pool = this.known.get(conn);
    if (!pool) {
      pool = this.find(conn);
      this.known.set(conn, pool);
      pool.catch(() => this.known.delete(conn));
    }
    return pool;
  }

  /** volumePath is where a volume of the pool lives on every host (dir pools name files so). */
  volumePath(volume: string): string {
    return `${this.settings.path}/${volume}`;
  }

  private async find(conn: LibvirtConnection): Promise<PoolRef> {
    const { name, path } = this.settings;
    try {
      const pool = await conn.storage.lookupPool(name);
      if ((await conn.storage.poolInfo(pool)).state !== POOL_RUNNING)
        await conn.storage.startPool(pool);
      return pool;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const pool = await conn.storage.definePool(dirPoolXml(name, path));
    await conn.storage.buildPool(pool);
    await conn.storage.startPool(pool);
    return pool;
  }
}
