import type { EntityManager } from '../../db/database.ts';
import { type UsageGranularity, UsageRecord } from '../../entities/usage-record.ts';
import { addTo, addUsage, type Tally, type UsageEntry, zero } from './usage-records.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** SPAN_MS is how long a record of each granularity covers. */
export const SPAN_MS: Readonly<Record<UsageGranularity, number>> = {
  MINUTE: 60_000,
  HOUR: HOUR_MS,
  DAY: DAY_MS,
};

/** bucketOf is where the record of `granularity` that `at` falls in begins (UTC). */
export function bucketOf(at: Date, granularity: UsageGranularity): Date {
  const span = SPAN_MS[granularity];
  return new Date(Math.floor(at.getTime() / span) * span);
}

/** Retention says how long minute and hour records are kept before they are rolled up. */
export interface Retention {
  readonly minuteHours: number;
  readonly hourDays: number;
}

// Rows rolled up in one transaction: a large backlog goes in several, each one complete.
const BATCH = 5_000;

/**
 * rollUp replaces minute records older than the retention with hour records, and hour records
 * with day records, summing every figure, so the totals of any period that starts on a
 * bucket's boundary never change. Each batch adds to the coarser record and deletes what it
 * summed in one transaction. Returns the number of records rolled up.
 */
export async function rollUp(
  fork: () => EntityManager,
  retention: Retention,
  now: Date = new Date(),
): Promise<number> {
  const minutesBefore = bucketOf(new Date(now.getTime() - retention.minuteHours * HOUR_MS), 'HOUR');
  const hoursBefore = bucketOf(new Date(now.getTime() - retention.hourDays * DAY_MS), 'DAY');
  let rolled = 0;
  for (const [from, to, before] of [
    ['MINUTE', 'HOUR', minutesBefore],
    ['HOUR', 'DAY', hoursBefore],
  ] as const) {
    for (;;) {
      const n = await fork().transactional((em) => rollBatch(em, from, to, before));
      rolled += n;
      if (n < BATCH) break;
    }
  }
  return rolled;
}

async function rollBatch(
  em: EntityManager,
  from: UsageGranularity,
  to: UsageGranularity,
  before: Date,
): Promise<number> {
  const rows = await em.find(
    UsageRecord,
    { granularity: from, start: { $lt: before } },
    { orderBy: { start: 'asc', id: 'asc' }, limit: BATCH },
  );
  if (rows.length === 0) return 0;
  const sums = new Map<string, UsageEntry & { amounts: Tally }>();
  for (const row of rows) {
    const start = bucketOf(row.start, to);
    const key = `${row.vmId} ${row.owner.id} ${start.getTime()}`;
    const sum = sums.get(key) ?? {
      vmId: row.vmId,
      vmName: row.vmName,
      ownerId: row.owner.id,
      granularity: to,
      start,
      amounts: zero(),
    };
    addTo(sum.amounts, row);
    sums.set(key, sum);
  }
  await addUsage(em, [...sums.values()]);
  await em.nativeDelete(UsageRecord, { id: { $in: rows.map((r) => r.id) } });
  return rows.length;
}

/** UsageRollup rolls usage records up now and then: at most once every `everyMs`. */
export class UsageRollup {
  private readonly fork: () => EntityManager;
  private readonly retention: Retention;
  private readonly everyMs: number;
  private last = 0;

  constructor(fork: () => EntityManager, retention: Retention, everyMs = 10 * 60_000) {
    this.fork = fork;
    this.retention = retention;
    this.everyMs = everyMs;
  }

  /** due rolls up if the last roll-up is `everyMs` old. */
  async due(now: Date = new Date()): Promise<void> {
    if (now.getTime() - this.last < this.everyMs) return;
    this.last = now.getTime();
    await rollUp(this.fork, this.retention, now);
  }
}
