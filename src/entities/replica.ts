import { defineEntity, p } from '@mikro-orm/core';
import { newId, type ReplicaId } from './ids.ts';

/** ReplicaSchema maps Replica to the `replicas` table. */
export const ReplicaSchema = defineEntity({
  name: 'Replica',
  tableName: 'replicas',
  properties: {
    id: p
      .uuid()
      .$type<ReplicaId>()
      .primary()
      .onCreate(() => newId<ReplicaId>()),
    /** name says which process this is, for people: `<hostname>:<pid>`. */
    name: p.string().length(255),
    /** url is where this replica serves the API. */
    url: p.string().length(1024),
    startedAt: p.datetime().onCreate(() => new Date()),
    /** seenAt is the database's time of the last heartbeat; a row too old is a dead replica. */
    seenAt: p.datetime().index(),
  },
});

/**
 * Replica is a controller process that is running now (or died and is not yet noticed): its
 * row is its lease on life. Hosts and operations name the replica that holds them; deleting a
 * dead replica's row lets the hosts go (set null) and leaves its operations to be settled.
 */
export class Replica extends ReplicaSchema.class {}
ReplicaSchema.setClass(Replica);
