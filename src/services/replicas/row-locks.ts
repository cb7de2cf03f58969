import type { EntityManager } from '../../db/database.ts';
import type { ReplicaId } from '../../entities/ids.ts';
import { Lock } from '../../entities/lock.ts';
import { Replica } from '../../entities/replica.ts';
import { ServiceError } from '../errors.ts';
import type { LockStore } from '../locks.ts';

// A taken lock is asked again this often; contention between replicas is rare and short.
const POLL_MS = 50;

/**
 * RowLocks are locks shared by the replicas: a row in `locks` per key held, inserted only if
 * absent. A waiter asks again until the holder deletes the row or its replica dies (the row
 * goes with the replica's), and gives up with CONFLICT naming what holds it.
 */
export class RowLocks implements LockStore {
  private readonly fork: () => EntityManager;
  private readonly replica: ReplicaId;

  constructor(fork: () => EntityManager, replica: ReplicaId) {
    this.fork = fork;
    this.replica = replica;
  }

  async take(key: string, what: string, waitMs: number): Promise<() => Promise<void>> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const release = await this.tryTake(key, what);
      if (release) return release;
      if (performance.now() >= deadline) {
        const holder = await this.fork().findOne(Lock, { key });
        throw new ServiceError(
          'CONFLICT',
          `it is busy (${holder?.what ?? 'another action'}); try again when that has finished`,
          'input.id',
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async tryTake(key: string, what: string): Promise<(() => Promise<void>) | null> {
    if (!(await this.insert(key, what))) return null;
    return async () => {
      await this.fork().nativeDelete(Lock, { key, replica: this.replica });
    };
  }

  async held(key: string): Promise<boolean> {
    return (await this.fork().count(Lock, { key })) > 0;
  }

  private async insert(key: string, what: string): Promise<boolean> {
    const em = this.fork();
    const result = await em
      .createQueryBuilder(Lock)
      .insert({
        key,
        replica: em.getReference(Replica, this.replica),
        what: what.slice(0, 200),
        acquiredAt: new Date(),
      })
      .onConflict('key')
      .ignore()
      .execute('run');
    return result.affectedRows > 0;
  }
}
