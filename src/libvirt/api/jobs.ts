import type { RemoteProgram } from '../generated/remote-protocol.gen.ts';
import { type TypedValue, typedParamsToRecord } from '../typed-params.ts';
import type { DomainRef } from './domains.ts';

/** JobType is virDomainJobType, by name. */
export type JobType = 'none' | 'bounded' | 'unbounded' | 'completed' | 'failed' | 'cancelled';

const JOB_TYPES: readonly JobType[] = [
  'none',
  'bounded',
  'unbounded',
  'completed',
  'failed',
  'cancelled',
];

/** JobStats is a domain job's progress: its type and libvirt's named figures (`memory_processed`, ...). */
export interface JobStats {
  readonly type: JobType;
  readonly stats: Record<string, TypedValue>;
}

/** JobStatsFlags are virDomainGetJobStatsFlags. */
export const JobStatsFlags = { COMPLETED: 1, KEEP_COMPLETED: 2 } as const;

/** JobApi watches and controls a domain's running job (migration, save, dump). */
export class JobApi {
  private readonly remote: RemoteProgram;

  constructor(remote: RemoteProgram) {
    this.remote = remote;
  }

  async stats(dom: DomainRef, flags = 0): Promise<JobStats> {
    const r = await this.remote.domainGetJobStats({ dom: dom.handle, flags });
    return { type: JOB_TYPES[r.type] ?? 'none', stats: typedParamsToRecord(r.params) };
  }

  /** abort cancels the domain's running job; a migration then leaves the guest on the source. */
  async abort(dom: DomainRef): Promise<void> {
    await this.remote.domainAbortJob({ dom: dom.handle });
  }

  /**
   * startPostCopy switches a running migration (begun with MigrateFlags.POSTCOPY) to post-copy:
   * the guest resumes on the destination at once and the memory not yet sent follows on demand.
   */
  async startPostCopy(dom: DomainRef): Promise<void> {
    await this.remote.domainMigrateStartPostCopy({ dom: dom.handle, flags: 0 });
  }

  /** setMaxDowntime bounds the pause at switch-over of a live migration, in milliseconds. */
  async setMaxDowntime(dom: DomainRef, ms: number): Promise<void> {
    await this.remote.domainMigrateSetMaxDowntime({
      dom: dom.handle,
      downtime: BigInt(ms),
      flags: 0,
    });
  }
}
