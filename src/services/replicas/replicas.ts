import type { EntityManager } from '../../db/database.ts';
import type { Dialect } from '../../db/url.ts';
import type { OperationId, ReplicaId } from '../../entities/ids.ts';
import { Replica } from '../../entities/replica.ts';
import { claimOrphans } from '../recovery.ts';
import { HostLeases } from './host-leases.ts';
import { ReplicaRegistry, type ReplicaTiming } from './replica-registry.ts';

/** ReplicaOptions wire a Replicas. */
export interface ReplicaOptions {
  readonly fork: () => EntityManager;
  readonly dialect: Dialect;
  readonly timing: ReplicaTiming;
  /**
   * shared says replicas share events and state (Redis): without it this process must be the
   * only one on its database.
   */
  readonly shared: boolean;
  /** orphans settles live operations claimed from dead replicas (settleOrphans, then resume). */
  readonly orphans: (ids: OperationId[]) => Promise<void>;
  /** fenced is told this replica was found dead by the others, or lost the database too long. */
  readonly fenced: (why: string) => void;
}

/**
 * Replicas is this controller process among the others on the same database: it registers,
 * beats, finds dead replicas and settles their operations, shares the hosts (HostLeases), and
 * says whether it leads (the oldest live replica runs the cluster's chores: rollups, list
 * refreshes). With one process it is the only replica, holds every host and leads.
 */
export class Replicas {
  readonly registry: ReplicaRegistry;
  readonly leases: HostLeases;
  private readonly opts: ReplicaOptions;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private lastBeat = performance.now();
  private leader = false;
  private liveCount = 1;

  constructor(opts: ReplicaOptions) {
    this.opts = opts;
    this.registry = new ReplicaRegistry(opts.fork, opts.dialect, opts.timing);
    this.leases = new HostLeases(opts.fork, opts.dialect, this.registry.id, async () =>
      Math.max(1, this.liveCount),
    );
  }

  get id(): ReplicaId {
    return this.registry.id;
  }

  /** leads says whether this replica runs the chores done once for the whole cluster. */
  leads(): boolean {
    return this.leader;
  }

  /**
   * join registers this replica and says whether it is alone (then nothing can be under way
   * anywhere, and a full recovery is safe). Alone on its database without shared state, a
   * row of another replica is of a controller that died (if its heartbeat does not move for
   * a while) or of one still running, which is refused.
   */
  async join(url: string): Promise<{ alone: boolean }> {
    let others = await this.registry.register(url);
    if (!this.opts.shared && others.length > 0) {
      others = await this.outliveStale(others).catch(async (err: unknown) => {
        await this.registry.leave();
        throw err;
      });
    }
    await this.refresh();
    return { alone: others.length === 0 };
  }

  /** start begins the heartbeats and takes the first share of hosts now. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      if (!this.beating) {
        this.beating = this.beat().finally(() => {
          this.beating = null;
        });
      }
    }, this.opts.timing.heartbeatMs);
    this.timer.unref();
  }

  /** leave stops beating, lets the hosts go and deletes this replica's row. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.leases.releaseAll().catch(() => undefined);
    await this.registry.leave().catch(() => undefined);
  }

  /** beat runs one heartbeat now (tests; the timer runs them every heartbeatMs). */
  async beat(): Promise<void> {
    const sent = performance.now();
    let alive: boolean;
    try {
      alive = await this.registry.beat();
    } catch (err) {
      // Others find this replica dead deadAfter after its last beat: it must stop before that.
      const silent = performance.now() - this.lastBeat;
      if (silent > this.opts.timing.deadAfterMs - this.opts.timing.heartbeatMs)
        this.fence(`the database did not answer for ${Math.round(silent)} ms: ${String(err)}`);
      return;
    }
    if (!alive) {
      this.fence('the other replicas found this one dead and took its hosts');
      return;
    }
    this.lastBeat = sent;
    try {
      await this.registry.removeDead();
      await this.refresh();
      const orphans = await claimOrphans(this.opts.fork(), this.opts.dialect, this.id);
      if (orphans.length > 0) await this.opts.orphans(orphans);
      await this.leases.balance();
    } catch (err) {
      process.emitWarning(
        `replica ${this.id}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private fence(why: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.opts.fenced(why);
  }

  private async refresh(): Promise<void> {
    const live = await this.registry.live();
    this.liveCount = live.length;
    this.leader = live[0]?.id === this.id;
  }

  // Waits long enough for a live replica to beat; the rows that did not move are the dead's.
  private async outliveStale(others: Replica[]): Promise<Replica[]> {
    const wait = Math.min(this.opts.timing.deadAfterMs, 1.5 * this.opts.timing.heartbeatMs);
    await new Promise((r) => setTimeout(r, wait));
    const em = this.opts.fork();
    const now = await em.find(Replica, { id: { $in: others.map((o) => o.id) } });
    const moved = now.filter(
      (r) => r.seenAt.getTime() !== others.find((o) => o.id === r.id)?.seenAt.getTime(),
    );
    if (moved.length > 0)
      throw new Error(
        `another controller is running on this database (${moved.map((r) => `${r.name} at ${r.url}`).join(', ')}); several need replicas.redisUrl`,
      );
    await em.nativeDelete(Replica, { id: { $in: now.map((r) => r.id) } });
    return [];
  }
}
