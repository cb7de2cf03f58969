import { defineEntity, p } from '@mikro-orm/core';
import { User } from './user.ts';

/** QuotaSchema maps Quota to the `quotas` table. A null limit means unlimited. */
export const QuotaSchema = defineEntity({
  name: 'Quota',
  tableName: 'quotas',
  properties: {
    user: () => p.oneToOne(User).ref().primary().owner().deleteRule('cascade'),
    vms: p.integer().nullable(),
    runningVms: p.integer().nullable(),
    vcpus: p.integer().nullable(),
    memoryBytes: p.bigint('bigint').nullable(),
    diskBytes: p.bigint('bigint').nullable(),
    images: p.integer().nullable(),
    imageBytes: p.bigint('bigint').nullable(),
    snapshots: p.integer().nullable(),
    // Consumption limits, over the configured window (quotas.window).
    cpuSeconds: p.bigint('bigint').nullable(),
    diskReadBytes: p.bigint('bigint').nullable(),
    diskWriteBytes: p.bigint('bigint').nullable(),
    netRxBytes: p.bigint('bigint').nullable(),
    netTxBytes: p.bigint('bigint').nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

/** Quota holds one user's limits; no row, or a null column, means unlimited. */
export class Quota extends QuotaSchema.class {}
QuotaSchema.setClass(Quota);
