import { defineEntity, p } from '@mikro-orm/core';
import { Replica } from './replica.ts';

/** LockSchema maps Lock to the `locks` table. */
export const LockSchema = defineEntity({
  name: 'Lock',
  tableName: 'locks',
  properties: {
    /** key names what is locked: `vm:<id>`, `placement`, `quota:<user id>`... */
    key: p.string().length(128).primary(),
    /** replica holds it; its death (the row deleted) releases the lock. */
    replica: () => p.manyToOne(Replica).ref().deleteRule('cascade').index(),
    /** what says what holds it, for the CONFLICT a waiter gets. */
    what: p.string().length(200),
    acquiredAt: p.datetime().onCreate(() => new Date()),
  },
});

/** Lock is one action's hold on a thing across the controller's replicas. */
export class Lock extends LockSchema.class {}
LockSchema.setClass(Lock);
