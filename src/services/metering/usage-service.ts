import type { EntityManager } from '../../db/database.ts';
import type { UserId, VmId } from '../../entities/ids.ts';
import { type UsageGranularity, UsageRecord } from '../../entities/usage-record.ts';
import type { Actor } from '../actor.ts';
import { ServiceError } from '../errors.ts';
import { addTo, type Tally, type UsageAmounts, zero } from './usage-records.ts';
import { bucketOf, SPAN_MS } from './usage-rollup.ts';

/** UsagePoint is what was consumed in one bucket: `granularity` long from `start`. */
export interface UsagePoint extends UsageAmounts {
  readonly start: Date;
  readonly granularity: UsageGranularity;
}

/** VmUsageSeries is one VM's consumption in a report: its points and their total. */
export interface VmUsageSeries {
  readonly vmId: VmId;
  /** vmName is the VM's name when it was last metered (it may be gone since). */
  readonly vmName: string;
  readonly total: UsageAmounts;
  readonly points: readonly UsagePoint[];
}

/** UsageReport is what a user's VMs consumed over a period (showback). */
export interface UsageReport {
  readonly from: Date;
  readonly to: Date;
  readonly granularity: UsageGranularity;
  readonly total: UsageAmounts;
  readonly vms: readonly VmUsageSeries[];
}

// A series longer than this asks for a coarser granularity.
const MAX_POINTS = 10_000;

const GRANULARITY_ORDER: readonly UsageGranularity[] = ['MINUTE', 'HOUR', 'DAY'];

/**
 * UsageService answers showback questions from the metered usage records: what a user's VMs
 * consumed over a period, per VM and in total, and one VM's series. A bucket holds the
 * records that start in it; records coarser than the granularity asked for (older ones,
 * already rolled up) stay whole, at their own granularity.
 */
export class UsageService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /** report gives what `userId`'s VMs consumed in [from, to); the user themself or an admin. */
  async report(
    actor: Actor,
    userId: UserId,
    from: Date,
    to: Date,
    granularity: UsageGranularity,
  ): Promise<UsageReport> {
    if (actor.userId !== userId && !actor.isAdmin)
      throw new ServiceError('FORBIDDEN', 'users may only read their own usage');
    checkPeriod(from, to, granularity);
    const rows = await this.em
      .fork()
      .find(
        UsageRecord,
        { owner: userId, start: { $gte: from, $lt: to } },
        { orderBy: { start: 'asc' } },
      );
    const byVm = new Map<VmId, UsageRecord[]>();
    for (const r of rows) byVm.set(r.vmId, [...(byVm.get(r.vmId) ?? []), r]);
    const vms = [...byVm.values()].map((records) => seriesOf(records, granularity));
    return { from, to, granularity, total: sum(vms.map((v) => v.total)), vms };
  }

  /**
   * vmSeries gives what one VM consumed in [from, to), whoever it counted against; the caller
   * has checked the actor may see the VM.
   */
  async vmSeries(
    vmId: VmId,
    from: Date,
    to: Date,
    granularity: UsageGranularity,
  ): Promise<readonly UsagePoint[]> {
    checkPeriod(from, to, granularity);
    const rows = await this.em
      .fork()
      .find(UsageRecord, { vmId, start: { $gte: from, $lt: to } }, { orderBy: { start: 'asc' } });
    return rows.length === 0 ? [] : seriesOf(rows, granularity).points;
  }
}

function checkPeriod(from: Date, to: Date, granularity: UsageGranularity): void {
  if (!(from.getTime() < to.getTime()))
    throw new ServiceError('INVALID', '`from` must come before `to`', 'from');
  if ((to.getTime() - from.getTime()) / SPAN_MS[granularity] > MAX_POINTS)
    throw new ServiceError(
      'INVALID',
      `that period holds more than ${MAX_POINTS} ${granularity.toLowerCase()}s: ask for a coarser granularity`,
      'granularity',
    );
}

// Sums records (one VM's, in time order) into buckets of `granularity` or their own, if coarser.
function seriesOf(records: readonly UsageRecord[], granularity: UsageGranularity): VmUsageSeries {
  const points = new Map<string, Tally & { start: Date; granularity: UsageGranularity }>();
  for (const r of records) {
    const g = coarser(r.granularity, granularity);
    const start = bucketOf(r.start, g);
    const key = `${g} ${start.getTime()}`;
    const p = points.get(key) ?? { ...zero(), start, granularity: g };
    addTo(p, r);
    points.set(key, p);
  }
  const list = [...points.values()];
  const last = records[records.length - 1] as UsageRecord;
  return { vmId: last.vmId, vmName: last.vmName, total: sum(list), points: list };
}

function coarser(a: UsageGranularity, b: UsageGranularity): UsageGranularity {
  return GRANULARITY_ORDER.indexOf(a) > GRANULARITY_ORDER.indexOf(b) ? a : b;
}

function sum(all: readonly UsageAmounts[]): UsageAmounts {
  const out = zero();
  for (const u of all) addTo(out, u);
  return out;
}
