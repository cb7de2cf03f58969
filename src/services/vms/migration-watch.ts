import type { DomainRef } from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import type { OperationContext } from '../operations/operation-runner.ts';
import {
  idleProgress,
  jobProgress,
  type MigrationEnds,
  type MigrationPhase,
  type MigrationProgress,
  transferFraction,
} from './migration-progress.ts';

// How often a running migration's job statistics are read.
const POLL_MS = 500;

// What a migration is doing in each phase, for its operation's phase text (with "<host>").
const DOING: Record<MigrationPhase, string> = {
  PREPARING: 'preparing',
  COPYING_DISK: 'copying the disk to',
  COPYING_MEMORY: 'copying memory to',
  POST_COPY: 'running the VM, its memory following, on',
  SWITCHING_OVER: 'switching over to',
  CLEANING_UP: 'cleaning up after moving to',
};

/** ReportProgress records a migration's progress on its operation. */
export type ReportProgress = (fraction: number, p: MigrationProgress, what: string) => void;

/** WatchedMigration is the migration a MigrationWatch follows. */
export interface WatchedMigration {
  readonly src: LibvirtConnection;
  readonly dom: DomainRef;
  readonly ends: MigrationEnds;
  readonly toName: string;
  readonly maxDowntimeMs: number | undefined;
  readonly postCopy: boolean;
  readonly ctx: OperationContext;
  readonly report: ReportProgress;
  readonly monitor: HostMonitor;
  /** hosts are the two ends, whose connections the migration needs. */
  readonly hosts: ReadonlyArray<{ readonly id: string; readonly name: string }>;
}

/**
 * MigrationWatch follows a running migration job on the source: it reports the job's figures,
 * sets the downtime bound once the job runs, switches to post-copy after the first full pass
 * over memory when asked, and stops the migration when the operation is cancelled or either
 * host is lost (a destination cut off would otherwise leave the source's QEMU waiting on a
 * stalled socket, and the guest with it).
 */
export class MigrationWatch {
  private readonly m: WatchedMigration;
  private readonly stop = new AbortController();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly onCancel = () => this.stop.abort();
  private readonly offMonitor: () => void;
  private last: MigrationProgress;
  private lost: string | null = null;
  private downtimeSet: boolean;
  private postCopy: 'OFF' | 'STARTING' | 'ON' | 'REFUSED' = 'OFF';

  constructor(m: WatchedMigration) {
    this.m = m;
    this.last = idleProgress('PREPARING', m.ends);
    this.downtimeSet = m.maxDowntimeMs === undefined;
    m.ctx.signal.addEventListener('abort', this.onCancel, { once: true });
    // Told at once: a host back before the next poll would otherwise go unnoticed.
    this.offMonitor = m.monitor.on('sessionLost', (lost) => {
      const host = m.hosts.find((h) => h.id === lost.hostId);
      if (host) this.lose(host.name, lost.reason);
    });
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  /** signal aborts the migration job: a cancel, or a lost host. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** progress is the latest figures. */
  get progress(): MigrationProgress {
    return this.last;
  }

  /** inPostCopy says the switch to post-copy was asked for or made: the guest may be split. */
  get inPostCopy(): boolean {
    return this.postCopy === 'STARTING' || this.postCopy === 'ON';
  }

  /** lostHost is why a host of the migration was lost, or null; it stays once seen. */
  lostHost(): string | null {
    const gone = this.m.hosts.find((h) => !this.m.monitor.session(h.id)?.isOpen);
    if (gone) this.lose(gone.name, this.m.monitor.status(gone.id).reason);
    return this.lost;
  }

  /** switchingOver marks the transfer done: from here on a cancel cannot help. */
  switchingOver(): void {
    this.m.ctx.uncancellable(`the VM is switching over to ${this.m.toName}`);
    this.last = { ...this.last, phase: 'SWITCHING_OVER' };
    this.m.report(0.95, this.last, `${DOING.SWITCHING_OVER} ${this.m.toName}`);
  }

  close(): void {
    clearInterval(this.timer);
    this.offMonitor();
    this.m.ctx.signal.removeEventListener('abort', this.onCancel);
  }

  private lose(name: string, reason: string): void {
    this.lost ??= `the connection to ${name} was lost (${reason})`;
    this.stop.abort();
  }

  private switching(): boolean {
    return this.last.phase === 'SWITCHING_OVER';
  }

  private async poll(): Promise<void> {
    const { src, dom } = this.m;
    if (this.lostHost()) return;
    // The downtime bound applies to a running migration job, so it is set once one runs.
    if (!this.downtimeSet && this.m.maxDowntimeMs !== undefined)
      this.downtimeSet = await src.jobs.setMaxDowntime(dom, this.m.maxDowntimeMs).then(
        () => true,
        () => false,
      );
    const job = await src.jobs.stats(dom).catch(() => null);
    if (job?.type !== 'unbounded' || this.switching()) return;
    const now = jobProgress(job, this.m.ends);
    if (this.m.postCopy && this.postCopy === 'OFF' && now.iteration >= 2)
      await this.startPostCopy();
    if (this.switching()) return;
    this.last = this.postCopy === 'ON' ? { ...now, phase: 'POST_COPY', postCopy: true } : now;
    this.m.report(
      0.1 + transferFraction(job) * 0.85,
      this.last,
      `${DOING[this.last.phase]} ${this.m.toName}`,
    );
  }

  // Uncancellable from the request on: once libvirt has switched, an abort is refused.
  private async startPostCopy(): Promise<void> {
    const { ctx, src, dom, toName } = this.m;
    this.postCopy = 'STARTING';
    ctx.uncancellable(`the VM runs on ${toName} already, its memory following in post-copy`);
    try {
      await src.jobs.startPostCopy(dom);
      this.postCopy = 'ON';
    } catch (err) {
      this.postCopy = 'REFUSED';
      ctx.uncancellable(null);
      process.emitWarning(`${dom.name}: post-copy did not start: ${String(err)}`);
    }
  }
}
