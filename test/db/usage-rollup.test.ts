// Usage records on each dialect: roll-ups replace old minutes with hours and old hours with
// days without changing any total; consumptionOf sums a user's window across granularities;
// showback buckets records and keeps coarser ones whole; usage adds up in the database under
// concurrent writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionId, UserId, VmId } from '../../src/entities/ids.ts';
import { newId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/index.ts';
import { type UsageGranularity, UsageRecord } from '../../src/entities/usage-record.ts';
import { addUsage, type UsageEntry, zero } from '../../src/services/metering/usage-records.ts';
import { rollUp } from '../../src/services/metering/usage-rollup.ts';
import { UsageService } from '../../src/services/metering/usage-service.ts';
import { consumptionOf } from '../../src/services/quotas/consumption.ts';
import { makeUser } from './fixtures.ts';
import { DIALECTS_UNDER_TEST, type Opened, openFresh } from './support.ts';

const NOW = new Date('2026-11-22T12:30:00Z');
const MIN = 60_000;

describe.each(DIALECTS_UNDER_TEST)('usage records on %s', (dialect) => {
  let opened: Opened;
  let owner: User;
  let other: User;
  const vmA = newId<VmId>();
  const vmB = newId<VmId>();

  const rows = async (): Promise<UsageRecord[]> =>
    opened.db.fork().find(UsageRecord, {}, { orderBy: { start: 'asc', vmId: 'asc' } });

  beforeAll(async () => {
    opened = await openFresh(dialect);
    const em = opened.db.fork();
    owner = makeUser(em);
    other = makeUser(em);
    await em.flush();
    const inserts = opened.db.fork();
    const add = (user: User, vmId: VmId, g: UsageGranularity, start: Date, n: bigint) =>
      inserts.create(UsageRecord, {
        vmId,
        vmName: vmId === vmA ? 'a' : 'b',
        owner: inserts.getReference(User, user.id),
        granularity: g,
        start,
        cpuNs: n * 1_000_000_000n,
        diskReadBytes: n,
        diskWriteBytes: 2n ** 40n * n,
        netRxBytes: n,
        netTxBytes: n,
        memoryByteSeconds: n,
      });
    // Minutes over three hours ago (10:00-10:59 and 11:00-11:04) and recent ones (12:29).
    for (let m = 0; m < 65; m++)
      add(owner, vmA, 'MINUTE', new Date(Date.UTC(2026, 10, 22, 10, m)), 1n);
    add(owner, vmA, 'MINUTE', new Date(NOW.getTime() - MIN), 7n);
    add(owner, vmB, 'MINUTE', new Date(Date.UTC(2026, 10, 22, 10, 30)), 5n);
    add(other, vmB, 'MINUTE', new Date(Date.UTC(2026, 10, 22, 10, 31)), 100n);
    // Hours from earlier in the month, older than the hour retention (two days ago), and one
    // from last month.
    add(owner, vmA, 'HOUR', new Date(Date.UTC(2026, 10, 1, 3)), 10n);
    add(owner, vmA, 'HOUR', new Date(Date.UTC(2026, 10, 1, 4)), 20n);
    add(owner, vmA, 'HOUR', new Date(Date.UTC(2026, 9, 31, 23)), 1000n);
    await inserts.flush();
  });
  afterAll(() => opened?.cleanup());

  it('sums a user window across granularities, exactly beyond 2^53, and no one else', async () => {
    const month = await consumptionOf(
      opened.db.fork(),
      owner.id as UserId,
      new Date(Date.UTC(2026, 10, 1)),
    );
    // 65 + 7 + 5 minutes' worth and 30 in hours; October's hour is outside the window.
    expect(month).toEqual({
      cpuSeconds: 107n,
      diskReadBytes: 107n,
      diskWriteBytes: 2n ** 40n * 107n,
      netRxBytes: 107n,
      netTxBytes: 107n,
    });
  });

  it('rolls old minutes into hours and old hours into days, changing no total', async () => {
    const before = await consumptionOf(opened.db.fork(), owner.id as UserId, new Date(0));
    const otherBefore = await consumptionOf(opened.db.fork(), other.id as UserId, new Date(0));
    const rolled = await rollUp(() => opened.db.fork(), { minuteHours: 1, hourDays: 2 }, NOW);
    // Minutes before 11:00 (an hour before 12:30, down to the hour): 60 + 1 + 1 of them.
    // Hours before Nov 20: all three.
    expect(rolled).toBe(62 + 3);
    const after = await rows();
    const shape = after.map((r) => [
      r.granularity,
      r.start.toISOString(),
      r.vmId === vmA ? 'a' : 'b',
      String(r.cpuNs / 1_000_000_000n),
    ]);
    // Sorted as strings: rows of one bucket come in no particular order.
    expect(shape.map(String).sort()).toEqual(
      [
        ['DAY', '2026-10-31T00:00:00.000Z', 'a', '1000'],
        ['DAY', '2026-11-01T00:00:00.000Z', 'a', '30'],
        ['HOUR', '2026-11-22T10:00:00.000Z', 'a', '60'],
        ['HOUR', '2026-11-22T10:00:00.000Z', 'b', '5'],
        ['HOUR', '2026-11-22T10:00:00.000Z', 'b', '100'],
        ...[0, 1, 2, 3, 4].map((m) => ['MINUTE', `2026-11-22T11:0${m}:00.000Z`, 'a', '1']),
        ['MINUTE', '2026-11-22T12:29:00.000Z', 'a', '7'],
      ]
        .map(String)
        .sort(),
    );
    expect(await consumptionOf(opened.db.fork(), owner.id as UserId, new Date(0))).toEqual(before);
    expect(await consumptionOf(opened.db.fork(), other.id as UserId, new Date(0))).toEqual(
      otherBefore,
    );
    // Nothing more is old enough.
    expect(await rollUp(() => opened.db.fork(), { minuteHours: 1, hourDays: 2 }, NOW)).toBe(0);
  });

  it('reports showback per VM and in total; coarser records stay whole', async () => {
    const actor = {
      userId: owner.id as UserId,
      sessionId: 's' as SessionId,
      isAdmin: false,
      address: '',
    };
    // 10:00 to 13:00 on the day of NOW.
    const threeHours = (granularity: UsageGranularity) =>
      new UsageService(opened.db.fork()).report(
        actor,
        owner.id as UserId,
        new Date(Date.UTC(2026, 10, 22, 10)),
        new Date(Date.UTC(2026, 10, 22, 13)),
        granularity,
      );
    const report = await threeHours('MINUTE');
    const byName = Object.fromEntries(report.vms.map((v) => [v.vmName, v]));
    expect(byName.a?.points.map((p) => [p.granularity, p.start.toISOString(), p.cpuNs])).toEqual([
      ['HOUR', '2026-11-22T10:00:00.000Z', 60_000_000_000n],
      ...[0, 1, 2, 3, 4].map((m) => ['MINUTE', `2026-11-22T11:0${m}:00.000Z`, 1_000_000_000n]),
      ['MINUTE', '2026-11-22T12:29:00.000Z', 7_000_000_000n],
    ]);
    expect(byName.a?.total.diskReadBytes).toBe(72n);
    expect(byName.b?.total.diskReadBytes).toBe(5n);
    expect(report.total.diskWriteBytes).toBe(2n ** 40n * 77n);
    const hourly = await threeHours('HOUR');
    const a = hourly.vms.find((v) => v.vmName === 'a');
    expect(a?.points.map((p) => [p.start.toISOString(), p.diskReadBytes])).toEqual([
      ['2026-11-22T10:00:00.000Z', 60n],
      ['2026-11-22T11:00:00.000Z', 5n],
      ['2026-11-22T12:00:00.000Z', 7n],
    ]);
    await expect(
      new UsageService(opened.db.fork()).report(actor, other.id as UserId, new Date(0), NOW, 'DAY'),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('adds usage to records in the database: concurrent writers lose nothing', async () => {
    const vmC = newId<VmId>();
    const start = new Date(Date.UTC(2026, 10, 22, 12, 31));
    const entry = (n: bigint): UsageEntry => ({
      vmId: vmC,
      vmName: 'c',
      ownerId: owner.id as UserId,
      granularity: 'MINUTE',
      start,
      amounts: { ...zero(), cpuNs: n, diskWriteBytes: 2n ** 58n + n },
    });
    // 20 writers at once, each from its own fork, each adding to the one record.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => addUsage(opened.db.fork(), [entry(BigInt(i + 1))])),
    );
    const [row, ...more] = await opened.db.fork().find(UsageRecord, { vmId: vmC });
    expect(more).toEqual([]);
    expect(row?.vmName).toBe('c');
    expect(BigInt(row?.cpuNs ?? 0)).toBe(210n);
    expect(BigInt(row?.diskWriteBytes ?? 0)).toBe(20n * 2n ** 58n + 210n);
    expect(BigInt(row?.netRxBytes ?? -1)).toBe(0n);
    // Another owner's use of the same VM in the same minute is a record of its own.
    await addUsage(opened.db.fork(), [{ ...entry(5n), ownerId: other.id as UserId }]);
    expect(await opened.db.fork().count(UsageRecord, { vmId: vmC })).toBe(2);
  });
});
