import type { JobStats } from '../../libvirt/api/jobs.ts';

/**
 * MIGRATION_PHASES: PREPARING (checks, the base image and an empty overlay on the destination),
 * COPYING_DISK, COPYING_MEMORY, POST_COPY (the guest runs on the destination and pulls the rest
 * of its memory from the source), SWITCHING_OVER (the guest pauses on the source and resumes on
 * the destination; after post-copy, the last pages arrive), CLEANING_UP (the source's volumes go).
 */
export const MIGRATION_PHASES = [
  'PREPARING',
  'COPYING_DISK',
  'COPYING_MEMORY',
  'POST_COPY',
  'SWITCHING_OVER',
  'CLEANING_UP',
] as const;
/** MigrationPhase is one of MIGRATION_PHASES. */
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/**
 * MigrationProgress is what a vmMigrate operation reports as it goes (its `details`), from
 * libvirt's job statistics on the source. Byte counts are numbers: JSON carries them, and no
 * guest has 2^53 bytes.
 */
export interface MigrationProgress {
  readonly phase: MigrationPhase;
  readonly fromHostId: string;
  readonly toHostId: string;
  readonly diskTotalBytes: number;
  readonly diskProcessedBytes: number;
  readonly diskRemainingBytes: number;
  readonly memoryTotalBytes: number;
  readonly memoryProcessedBytes: number;
  readonly memoryRemainingBytes: number;
  /** bytesPerSecond is the transfer rate now, disk and memory together. */
  readonly bytesPerSecond: number;
  /** dirtyBytesPerSecond is how fast the guest dirties memory already sent. */
  readonly dirtyBytesPerSecond: number;
  /** iteration counts passes over the guest's memory (1 is the first full copy). */
  readonly iteration: number;
  readonly elapsedMs: number;
  /** remainingMs estimates the time left at the current rate; null before there is a rate. */
  readonly remainingMs: number | null;
  /** downtimeMs is how long the guest was paused at switch-over, once known. */
  readonly downtimeMs: number | null;
  /** postCopy says the migration switched to post-copy (the guest ran on before all its memory had arrived). */
  readonly postCopy: boolean;
}

const num = (v: unknown): number =>
  typeof v === 'bigint' || typeof v === 'number' ? Number(v) : 0;

/** MigrationEnds are the hosts a migration goes between. */
export interface MigrationEnds {
  readonly fromHostId: string;
  readonly toHostId: string;
}

/** idleProgress is a migration's progress before (or after) its job runs: no figures yet. */
export function idleProgress(phase: MigrationPhase, ends: MigrationEnds): MigrationProgress {
  return {
    phase,
    ...ends,
    diskTotalBytes: 0,
    diskProcessedBytes: 0,
    diskRemainingBytes: 0,
    memoryTotalBytes: 0,
    memoryProcessedBytes: 0,
    memoryRemainingBytes: 0,
    bytesPerSecond: 0,
    dirtyBytesPerSecond: 0,
    iteration: 0,
    elapsedMs: 0,
    remainingMs: null,
    downtimeMs: null,
    postCopy: false,
  };
}

/**
 * jobProgress reads a running migration job's statistics. Disks are mirrored first (no memory
 * sent yet), then memory is copied in passes until the rest fits the allowed downtime.
 */
export function jobProgress(job: JobStats, ends: MigrationEnds): MigrationProgress {
  const s = job.stats;
  const iteration = num(s.memory_iteration);
  const diskRemaining = num(s.disk_remaining);
  const rate = num(s.memory_bps) + num(s.disk_bps);
  const dataRemaining = num(s.data_remaining);
  const pageSize = num(s.memory_page_size) || 4096;
  return {
    phase: num(s.memory_processed) > 0 ? 'COPYING_MEMORY' : 'COPYING_DISK',
    ...ends,
    diskTotalBytes: num(s.disk_total),
    diskProcessedBytes: num(s.disk_processed),
    diskRemainingBytes: diskRemaining,
    memoryTotalBytes: num(s.memory_total),
    memoryProcessedBytes: num(s.memory_processed),
    memoryRemainingBytes: num(s.memory_remaining),
    bytesPerSecond: rate,
    dirtyBytesPerSecond: num(s.memory_dirty_rate) * pageSize,
    iteration,
    elapsedMs: num(s.time_elapsed),
    remainingMs: rate > 0 ? Math.round((dataRemaining / rate) * 1000) : null,
    downtimeMs: s.downtime === undefined ? null : num(s.downtime),
    postCopy: false,
  };
}

/** transferFraction is how much of the job's data has gone (0 to 1). */
export function transferFraction(job: JobStats): number {
  const done = num(job.stats.data_processed);
  const total = done + num(job.stats.data_remaining);
  return total > 0 ? done / total : 0;
}
