import { raw } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import type { UserId } from '../../entities/ids.ts';
import { UsageRecord } from '../../entities/usage-record.ts';

/** CONSUMPTION_LIMITS are the limits on what a user consumes within a window (metered). */
export const CONSUMPTION_LIMITS = [
  'cpuSeconds',
  'diskReadBytes',
  'diskWriteBytes',
  'netRxBytes',
  'netTxBytes',
] as const;

/** ConsumptionLimit names one of CONSUMPTION_LIMITS. */
export type ConsumptionLimit = (typeof CONSUMPTION_LIMITS)[number];

/** Consumption is what a user consumed of each CONSUMPTION_LIMITS resource within a window. */
export type Consumption = Readonly<Record<ConsumptionLimit, bigint>>;

/** WINDOWS are the calendar periods (UTC) consumption limits count over. */
export const WINDOWS = ['DAY', 'WEEK', 'MONTH'] as const;

/** Window names one of WINDOWS. */
export type Window = (typeof WINDOWS)[number];

/** Period is where one window begins and where the next one does. */
export interface Period {
  readonly start: Date;
  readonly end: Date;
}

const DAY_MS = 86_400_000;

/** periodOf gives the window `now` falls in: a UTC day, an ISO week (from Monday), a month. */
export function periodOf(window: Window, now: Date): Period {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  switch (window) {
    case 'DAY':
      return { start: new Date(day), end: new Date(day + DAY_MS) };
    case 'WEEK': {
      const start = day - ((now.getUTCDay() + 6) % 7) * DAY_MS;
      return { start: new Date(start), end: new Date(start + 7 * DAY_MS) };
    }
    case 'MONTH':
      return {
        start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
        end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
      };
  }
}

const big = (v: unknown): bigint => (v === null || v === undefined ? 0n : BigInt(String(v)));

/**
 * consumptionOf sums what a user's VMs consumed from `since` on, from the metered usage
 * records (minute, hour and day records never overlap: a roll-up replaces what it sums).
 */
export async function consumptionOf(
  em: EntityManager,
  user: UserId,
  since: Date,
): Promise<Consumption> {
  const [row] = await em
    .createQueryBuilder(UsageRecord, 'u')
    .select([
      raw('sum(u.cpu_ns) as cpu'),
      raw('sum(u.disk_read_bytes) as rd'),
      raw('sum(u.disk_write_bytes) as wr'),
      raw('sum(u.net_rx_bytes) as rx'),
      raw('sum(u.net_tx_bytes) as tx'),
    ])
    .where({ owner: user, start: { $gte: since } })
    .execute<Array<Record<string, unknown>>>('all', false);
  return {
    cpuSeconds: big(row?.cpu) / 1_000_000_000n,
    diskReadBytes: big(row?.rd),
    diskWriteBytes: big(row?.wr),
    netRxBytes: big(row?.rx),
    netTxBytes: big(row?.tx),
  };
}
