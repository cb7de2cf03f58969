import { defineEntity, p } from '@mikro-orm/core';
import { newId, type UsageRecordId, type VmId } from './ids.ts';
import { User } from './user.ts';

/** USAGE_GRANULARITIES: a record covers a minute, an hour or a day (older ones are rolled up). */
export const USAGE_GRANULARITIES = ['MINUTE', 'HOUR', 'DAY'] as const;
/** UsageGranularity is one of USAGE_GRANULARITIES. */
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

/**
 * UsageRecordSchema maps UsageRecord to `usage_records`. The VM is named by id and name, not a
 * foreign key: what a VM consumed stays on its owner's account after the VM is gone.
 */
export const UsageRecordSchema = defineEntity({
  name: 'UsageRecord',
  tableName: 'usage_records',
  properties: {
    id: p
      .uuid()
      .$type<UsageRecordId>()
      .primary()
      .onCreate(() => newId<UsageRecordId>()),
    vmId: p.uuid().$type<VmId>(),
    vmName: p.string().length(64),
    /** owner is who the usage counts against: the VM's owner when it was used. */
    owner: () => p.manyToOne(User).ref().deleteRule('cascade'),
    granularity: p.enum(USAGE_GRANULARITIES),
    /** start is where the record's minute, hour or day begins (UTC). */
    start: p.datetime(),
    cpuNs: p.bigint('bigint').default(0),
    diskReadBytes: p.bigint('bigint').default(0),
    diskWriteBytes: p.bigint('bigint').default(0),
    netRxBytes: p.bigint('bigint').default(0),
    netTxBytes: p.bigint('bigint').default(0),
    /** memoryByteSeconds is memory held over time: bytes times the seconds held. */
    memoryByteSeconds: p.bigint('bigint').default(0),
  },
  uniques: [
    // One record a VM, owner and bucket: a VM given to another user mid-hour stays split.
    {
      name: 'usage_records_vm_bucket_unique',
      properties: ['vmId', 'owner', 'granularity', 'start'],
    },
  ],
  indexes: [
    { name: 'usage_records_owner_start_index', properties: ['owner', 'start'] },
    // Roll-ups find what is old enough by granularity and start.
    { name: 'usage_records_granularity_start_index', properties: ['granularity', 'start'] },
  ],
});

/** UsageRecord is what one VM consumed in one minute, hour or day. */
export class UsageRecord extends UsageRecordSchema.class {}
UsageRecordSchema.setClass(UsageRecord);
