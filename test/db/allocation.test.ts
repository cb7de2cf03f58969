// allocationOf sums what a user holds with SQL aggregates, on each dialect: exact beyond 2^53,
// only the user's own, and zero for a user with nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Snapshot, type UserId } from '../../src/entities/index.ts';
import { allocationOf } from '../../src/services/quotas/allocation.ts';
import { makeImage, makeUser, makeVm } from './fixtures.ts';
import { DIALECTS_UNDER_TEST, type Opened, openFresh } from './support.ts';

describe.each(DIALECTS_UNDER_TEST)('allocationOf on %s', (dialect) => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await openFresh(dialect);
  });
  afterAll(() => opened?.cleanup());

  it("sums a user's VMs, running VMs, images and snapshots, and nobody else's", async () => {
    const em = opened.db.fork();
    const owner = makeUser(em);
    const other = makeUser(em);
    const idle = makeUser(em);
    const running = makeVm(em, owner);
    running.state = 'RUNNING';
    const stopped = makeVm(em, owner);
    stopped.state = 'STOPPED';
    stopped.diskBytes = 2n ** 60n;
    makeVm(em, other).state = 'RUNNING';
    makeImage(em, owner).sizeBytes = 2n ** 55n + 1n;
    makeImage(em, owner);
    em.create(Snapshot, { vm: running, name: 'one' });
    await em.flush();

    expect(await allocationOf(opened.db.fork(), owner.id as UserId)).toEqual({
      vms: 2n,
      runningVms: 1n,
      vcpus: 4n,
      memoryBytes: 4n * 1024n ** 3n,
      diskBytes: 20n * 1024n ** 3n + 2n ** 60n,
      images: 2n,
      imageBytes: 2n ** 55n + 1n,
      snapshots: 1n,
    });
    expect(await allocationOf(opened.db.fork(), idle.id as UserId)).toEqual({
      vms: 0n,
      runningVms: 0n,
      vcpus: 0n,
      memoryBytes: 0n,
      diskBytes: 0n,
      images: 0n,
      imageBytes: 0n,
      snapshots: 0n,
    });
  });
});
