import type { EntityManager } from '../../db/database.ts';
import type { Dialect } from '../../db/url.ts';
import { Host } from '../../entities/host.ts';
import type { HostId, ReplicaId } from '../../entities/ids.ts';
import type { HostWatch, WatchEvent } from '../hosts/host-watch.ts';

/**
 * HostLeases shares the hosts among the live replicas through `hosts.replica_id`: each
 * replica holds at most its share (hosts / live replicas, rounded up), takes free hosts
 * (never leased, or freed when their replica's row was deleted) up to that share, and lets go
 * of what is beyond it so that a replica that joins gets hosts too. Taking uses `FOR UPDATE
 * SKIP LOCKED` on PostgreSQL, so two replicas balancing at once never take the same host.
 * A host is let go of locally (its watching stopped) before the database frees it.
 */
export class HostLeases implements HostWatch {
  private readonly fork: () => EntityManager;
  private readonly dialect: Dialect;
  private readonly replica: ReplicaId;
  private readonly liveReplicas: () => Promise<number>;
  private readonly held = new Set<HostId>();
  private readonly listeners: Record<WatchEvent, Set<(hostId: HostId) => void>> = {
    gained: new Set(),
    lost: new Set(),
  };
  // Balances run one at a time: a heartbeat's and a host added meanwhile would race.
  private balancing: Promise<void> = Promise.resolve();

  constructor(
    fork: () => EntityManager,
    dialect: Dialect,
    replica: ReplicaId,
    liveReplicas: () => Promise<number>,
  ) {
    this.fork = fork;
    this.dialect = dialect;
    this.replica = replica;
    this.liveReplicas = liveReplicas;
  }

  on(event: WatchEvent, listener: (hostId: HostId) => void): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  /** holds says whether this replica holds the host's lease now. */
  holds(hostId: string): boolean {
    return this.held.has(hostId as HostId);
  }

  /** balance takes or lets go of hosts towards this replica's share among the live replicas. */
  balance(): Promise<void> {
    const next = this.balancing.then(() => this.balanceNow());
    this.balancing = next.catch(() => undefined);
    return next;
  }

  private async balanceNow(): Promise<void> {
    const em = this.fork();
    const total = await em.count(Host, {});
    const share = Math.ceil(total / Math.max(1, await this.liveReplicas()));
    const mine = await this.mine(em);
    if (mine.length > share) await this.release(mine.slice(share));
    else if (mine.length < share) await this.take(share - mine.length);
    this.settle(await this.mine(this.fork()));
  }

  /** releaseAll lets every host go (a clean stop), so the others take them at once. */
  async releaseAll(): Promise<void> {
    await this.balancing;
    await this.release([...this.held]);
  }

  private async mine(em: EntityManager): Promise<HostId[]> {
    const rows = await em.find(
      Host,
      { replica: this.replica },
      { fields: ['id'], orderBy: { id: 'asc' } },
    );
    return rows.map((h) => h.id);
  }

  private async release(ids: HostId[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) {
      if (this.held.delete(id)) this.emit('lost', id);
    }
    await this.fork().nativeUpdate(
      Host,
      { id: { $in: ids }, replica: this.replica },
      { replica: null },
    );
  }

  private async take(n: number): Promise<void> {
    const lock = this.dialect === 'postgresql' ? 'for update skip locked' : '';
    await this.fork()
      .getConnection()
      .execute(
        `update hosts set replica_id = ? where id in (select id from hosts where replica_id is null order by id limit ? ${lock})`,
        [this.replica, n],
        'run',
      );
  }

  // The database is the truth: what it says this replica holds, it watches, and nothing else.
  private settle(ids: HostId[]): void {
    const now = new Set(ids);
    for (const id of [...this.held]) {
      if (!now.has(id)) {
        this.held.delete(id);
        this.emit('lost', id);
      }
    }
    for (const id of ids) {
      if (!this.held.has(id)) {
        this.held.add(id);
        this.emit('gained', id);
      }
    }
  }

  private emit(event: WatchEvent, hostId: HostId): void {
    for (const listener of this.listeners[event]) listener(hostId);
  }
}
