import type { EntityManager } from '../../db/database.ts';
import type { ReplicaId } from '../../entities/ids.ts';
import { Replica } from '../../entities/replica.ts';
import { type Actor, requireAdmin } from '../actor.ts';

/** ReplicaView is a live replica as admins see it. */
export interface ReplicaView {
  readonly replica: Replica;
  /** hosts is how many hosts it looks after. */
  readonly hosts: number;
  /** leads: the oldest live replica runs the cluster's chores (rollups, list refreshes). */
  readonly leads: boolean;
}

/** ReplicaService shows admins the controller's replicas and which one holds what. */
export class ReplicaService {
  private readonly em: EntityManager;

  constructor(em: EntityManager) {
    this.em = em;
  }

  /** list names the replicas not yet found dead, oldest first. */
  async list(actor: Actor): Promise<ReplicaView[]> {
    requireAdmin(actor, 'see the replicas');
    const replicas = await this.em.find(Replica, {}, { orderBy: { startedAt: 'asc', id: 'asc' } });
    const counts = await this.em
      .getConnection()
      .execute<{ replica: ReplicaId; n: number | string }[]>(
        'select replica_id as replica, count(*) as n from hosts where replica_id is not null group by replica_id',
      );
    const held = new Map(counts.map((c) => [c.replica, Number(c.n)]));
    return replicas.map((replica, i) => ({
      replica,
      hosts: held.get(replica.id) ?? 0,
      leads: i === 0,
    }));
  }
}
