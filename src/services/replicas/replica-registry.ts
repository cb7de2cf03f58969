import { hostname } from 'node:os';
import type { EntityManager } from '../../db/database.ts';
import type { Dialect } from '../../db/url.ts';
import { newId, type ReplicaId } from '../../entities/ids.ts';
import { Replica } from '../../entities/replica.ts';

/** ReplicaTiming says how often a replica beats and when a silent one counts as dead. */
export interface ReplicaTiming {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
}

/**
 * ReplicaRegistry is this process's row in `replicas`: registered at start, its `seenAt`
 * renewed each heartbeat, deleted on a clean stop. Ages are measured on the database's clock
 * (PostgreSQL's now()), so replicas on machines whose clocks differ agree on who is dead.
 * A heartbeat that finds the row gone means the others already declared this replica dead
 * and took its hosts and operations: it must stop at once (fenced).
 */
export class ReplicaRegistry {
  readonly id: ReplicaId = newId<ReplicaId>();
  private readonly fork: () => EntityManager;
  private readonly dialect: Dialect;
  readonly timing: ReplicaTiming;

  constructor(fork: () => EntityManager, dialect: Dialect, timing: ReplicaTiming) {
    this.fork = fork;
    this.dialect = dialect;
    this.timing = timing;
  }

  /** register writes this replica's row and names the other live replicas. */
  async register(url: string): Promise<Replica[]> {
    const em = this.fork();
    const now = await this.now(em);
    em.create(Replica, {
      id: this.id,
      name: `${hostname()}:${process.pid}`,
      url,
      startedAt: now,
      seenAt: now,
    });
    await em.flush();
    await this.removeDead();
    return this.fork().find(Replica, { id: { $ne: this.id } }, { orderBy: { startedAt: 'asc' } });
  }

  /** announce records where this replica serves, once it listens. */
  async announce(url: string): Promise<void> {
    await this.fork().nativeUpdate(Replica, { id: this.id }, { url });
  }

  /** beat renews this replica's row; false when it is gone (the others declared it dead). */
  async beat(): Promise<boolean> {
    const em = this.fork();
    return (await em.nativeUpdate(Replica, { id: this.id }, { seenAt: await this.now(em) })) > 0;
  }

  /**
   * removeDead deletes the rows of other replicas silent for longer than deadAfter: their hosts
   * turn free and their live operations orphaned (foreign keys), for the live ones to take.
   * Never this one's: a replica whose own beats were late (a busy event loop) is judged by the
   * others, and alone it has no successor to give way to.
   */
  async removeDead(): Promise<number> {
    const em = this.fork();
    const before = new Date((await this.now(em)).getTime() - this.timing.deadAfterMs);
    return em.nativeDelete(Replica, { seenAt: { $lt: before }, id: { $ne: this.id } });
  }

  /** live are the replicas not yet found dead, this one among them, oldest first. */
  live(): Promise<Replica[]> {
    return this.fork().find(Replica, {}, { orderBy: { startedAt: 'asc', id: 'asc' } });
  }

  /** leave deletes this replica's row: its hosts go to the others at their next heartbeat. */
  async leave(): Promise<void> {
    await this.fork().nativeDelete(Replica, { id: this.id });
  }

  // The database's clock where several replicas may share it; SQLite is one machine's file.
  private async now(em: EntityManager): Promise<Date> {
    if (this.dialect === 'sqlite') return new Date();
    const [row] = await em.getConnection().execute<{ now: Date }[]>('select now() as now');
    return new Date(row?.now ?? Date.now());
  }
}
