import { raw } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import { newId, type UsageRecordId, type UserId, type VmId } from '../../entities/ids.ts';
import { type UsageGranularity, UsageRecord } from '../../entities/usage-record.ts';
import { COUNTERS } from './counters.ts';

/** AMOUNTS are the figures a usage record holds. */
export const AMOUNTS = [...COUNTERS, 'memoryByteSeconds'] as const;

/** UsageAmounts are what was consumed: vCPU time, disk and network bytes, memory over time. */
export type UsageAmounts = Readonly<Record<(typeof AMOUNTS)[number], bigint>>;

/** Tally is amounts being summed. */
export type Tally = { -readonly [A in (typeof AMOUNTS)[number]]: bigint };

/** zero is a tally of nothing yet. */
export function zero(): Tally {
  return {
    cpuNs: 0n,
    diskReadBytes: 0n,
    diskWriteBytes: 0n,
    netRxBytes: 0n,
    netTxBytes: 0n,
    memoryByteSeconds: 0n,
  };
}

/** addTo adds `amounts` (read from the database or computed) to `tally`. */
export function addTo(tally: Tally, amounts: Readonly<Record<keyof Tally, unknown>>): void {
  for (const a of AMOUNTS) tally[a] += BigInt(amounts[a] as bigint | string | number);
}

/** UsageEntry is an amount to add to one VM's record of one bucket, against an owner. */
export interface UsageEntry {
  readonly vmId: VmId;
  readonly vmName: string;
  readonly ownerId: UserId;
  readonly granularity: UsageGranularity;
  readonly start: Date;
  readonly amounts: UsageAmounts;
}

// Rows a statement: 13 parameters a row, well under both dialects' limits on parameters.
const BATCH = 500;

// Each figure is added in the database to the record's own: writers never lose each
// other's sums, and nothing is read first.
const ADD_TO_RECORD = Object.fromEntries(
  AMOUNTS.map((a) => {
    const column = a.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return [a, raw(`usage_records.${column} + excluded.${column}`)];
  }),
);

/**
 * addUsage adds each entry to its record (one a VM, owner, granularity and start), creating
 * the records that do not exist yet, in one statement for up to 500 entries. The record keeps
 * the name it was created with.
 */
export async function addUsage(em: EntityManager, entries: readonly UsageEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += BATCH) {
    const rows = entries.slice(i, i + BATCH).map((e) => ({
      id: newId<UsageRecordId>(),
      vmId: e.vmId,
      vmName: e.vmName,
      owner: e.ownerId,
      granularity: e.granularity,
      start: e.start,
      ...e.amounts,
    }));
    await em
      .createQueryBuilder(UsageRecord)
      .insert(rows)
      .onConflict(['vmId', 'owner', 'granularity', 'start'])
      .merge(ADD_TO_RECORD)
      .execute('run');
  }
}
