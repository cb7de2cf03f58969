import type { PoolRef } from '../../src/libvirt/api/storage.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import { dirPoolXml } from '../../src/libvirt/xml/storage.ts';

/** TEST_POOL is the directory pool tests use on every rig host; the path is the same on all. */
export const TEST_POOL = { name: 'kumo-test', path: '/var/lib/libvirt/images/kumo-test' } as const;

/** ensurePool returns the test pool, defining and starting it if needed (parallel files may race). */
export async function ensurePool(conn: LibvirtConnection): Promise<PoolRef> {
  for (let attempt = 0; ; attempt++) {
    try {
      const pool = await conn.storage.lookupPool(TEST_POOL.name);
      if ((await conn.storage.poolInfo(pool)).state !== 2)
        await conn.storage.startPool(pool).catch(() => undefined);
      return pool;
    } catch (err) {
      if (!isNotFound(err) || attempt > 3) throw err;
    }
    try {
      const pool = await conn.storage.definePool(dirPoolXml(TEST_POOL.name, TEST_POOL.path));
      await conn.storage.buildPool(pool);
      await conn.storage.startPool(pool);
      return pool;
    } catch {
      // Another test file defined it first: look it up again.
    }
  }
}
