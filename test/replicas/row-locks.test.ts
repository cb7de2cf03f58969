// Locks shared by replicas, as rows: one holder per key across processes' Locks, a waiter
// refused with what holds it, and a dead replica's locks gone with its row. On each dialect.
import { afterEach, describe, expect, it } from 'vitest';
import type { HostId, ReplicaId } from '../../src/entities/ids.ts';
import { Replica } from '../../src/entities/replica.ts';
import { isServiceError } from '../../src/services/errors.ts';
import { Locks } from '../../src/services/locks.ts';
import { RowLocks } from '../../src/services/replicas/row-locks.ts';
import { HostStarts } from '../../src/services/vms/host-starts.ts';
import { DIALECTS_UNDER_TEST, type Opened, openFresh } from '../db/support.ts';
import { rejection } from '../support/wait.ts';

let opened: Opened | null = null;

afterEach(async () => {
  await opened?.cleanup();
  opened = null;
});

async function replicasOn(dialect: (typeof DIALECTS_UNDER_TEST)[number], n: number) {
  opened = await openFresh(dialect);
  const db = opened.db;
  const em = db.fork();
  const ids = Array.from({ length: n }, (_, i) => {
    const r = em.create(Replica, { name: `r${i}`, url: `http://r${i}`, seenAt: new Date() });
    return r.id as ReplicaId;
  });
  await em.flush();
  return { db, ids };
}

describe.each(DIALECTS_UNDER_TEST)('row locks on %s', (dialect) => {
  it('let one replica at a time into a key, and the others in turn', async () => {
    const { db, ids } = await replicasOn(dialect, 3);
    const locks = ids.map(
      (id) => new Locks<string>({ store: new RowLocks(() => db.fork(), id), scope: 'vm' }),
    );
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      locks.flatMap((l, i) =>
        [0, 1].map(() =>
          l.run('one', `work of ${i}`, async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 30));
            order.push(i);
            inside--;
          }),
        ),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(await db.fork().getConnection().execute('select * from locks')).toEqual([]);
  });

  it('bound the domain starts of a host across replicas, not per replica', async () => {
    const { db, ids } = await replicasOn(dialect, 2);
    const starts = ids.map((id) => new HostStarts(2, new RowLocks(() => db.fork(), id)));
    const host = 'host-1' as HostId;
    let running = 0;
    let most = 0;
    await Promise.all(
      starts.flatMap((s) =>
        [1, 2, 3, 4].map(() =>
          s.run(host, async () => {
            running++;
            most = Math.max(most, running);
            await new Promise((r) => setTimeout(r, 40));
            running--;
          }),
        ),
      ),
    );
    // Each replica alone would allow 2, together 4: the host's bound holds across them.
    expect(most).toBe(2);
    expect(await db.fork().getConnection().execute('select * from locks')).toEqual([]);
  });

  it('refuse a waiter with what holds the key, and free the keys of a replica that died', async () => {
    const { db, ids } = await replicasOn(dialect, 2);
    const [a, b] = ids as [ReplicaId, ReplicaId];
    const held = await new RowLocks(() => db.fork(), a).take('vm:x', 'vmMigrate', 1000);
    const err = await rejection(new RowLocks(() => db.fork(), b).take('vm:x', 'vmStart', 200));
    expect(isServiceError(err) && err.code).toBe('CONFLICT');
    expect((err as Error).message).toMatch(/busy \(vmMigrate\)/);
    // Its replica's row deleted (found dead): the lock goes with it.
    await db.fork().nativeDelete(Replica, { id: a });
    const release = await new RowLocks(() => db.fork(), b).take('vm:x', 'vmStart', 1000);
    // The dead holder's late release does not free what the live one holds now.
    await held();
    expect(await db.fork().getConnection().execute('select what from locks')).toEqual([
      { what: 'vmStart' },
    ]);
    await release();
  });
});
