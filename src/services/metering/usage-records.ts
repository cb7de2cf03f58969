import type { EntityManager } from '../../db/database.ts';
import { dialectOf, type JsonColumns, jsonRows } from '../../db/json-rows.ts';
import { newId, type UsageRecordId, type UserId, type VmId } from '../../entities/ids.ts';
import type { UsageGranularity } from '../../entities/usage-record.ts';
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

// Entries a statement: one JSON parameter of about 150 bytes an entry.
const BATCH = 2000;

const COLUMNS: JsonColumns = {
  id: 'uuid',
  vm_id: 'uuid',
  vm_name: 'text',
  owner_id: 'uuid',
  granularity: 'text',
  start: 'timestamp',
  ...Object.fromEntries(AMOUNTS.map((a) => [columnOf(a), 'bigint'])),
};

// Each figure is added in the database to the record's own: writers never lose each other's
// sums, and nothing is read first.
const ADD_TO_RECORD = AMOUNTS.map(columnOf)
  .map((c) => `${c} = usage_records.${c} + excluded.${c}`)
  .join(', ');

/**
 * addUsage adds each entry to its record (one a VM, owner, granularity and start), creating
 * the records that do not exist yet, in one statement for up to 2,000 entries. The record keeps
 * the name it was created with.
 */
export async function addUsage(em: EntityManager, entries: readonly UsageEntry[]): Promise<void> {
  const dialect = dialectOf(em);
  const names = Object.keys(COLUMNS).join(', ');
  for (let i = 0; i < entries.length; i += BATCH) {
    const rows = entries.slice(i, i + BATCH).map((e) => ({
      id: newId<UsageRecordId>(),
      vm_id: e.vmId,
      vm_name: e.vmName,
      owner_id: e.ownerId,
      granularity: e.granularity,
      start: e.start,
      ...Object.fromEntries(AMOUNTS.map((a) => [columnOf(a), e.amounts[a]])),
    }));
    const { from, param } = jsonRows(dialect, 'e', COLUMNS, rows);
    await em.execute(
      `insert into usage_records (${names}) select ${names} from ${from} where true ` +
        `on conflict (vm_id, owner_id, granularity, start) do update set ${ADD_TO_RECORD}`,
      [param],
      'run',
    );
  }
}

// cpuNs is the column cpu_ns.
function columnOf(amount: string): string {
  return amount.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
