/**
 * Kumo's entities: the durable intent (users, hosts, VMs, images, snapshots, permissions,
 * quotas) and the trail (sessions, operations,
 * executions, audit events). See README.md.
 */
import { AuditEventSchema } from './audit-event.ts';
import { EndorserSchema } from './endorser.ts';
import { ExecutionSchema } from './execution.ts';
import { HostSchema } from './host.ts';
import { ImageSchema } from './image.ts';
import { ImageCopySchema } from './image-copy.ts';
import { ImageListEntrySchema } from './image-list-entry.ts';
import { ImageListSubscriptionSchema } from './image-list-subscription.ts';
import { LockSchema } from './lock.ts';
import { OperationSchema } from './operation.ts';
import { PermissionSchema } from './permission.ts';
import { PublishedImageListSchema } from './published-image-list.ts';
import { QuotaSchema } from './quota.ts';
import { ReplicaSchema } from './replica.ts';
import { SessionSchema } from './session.ts';
import { SnapshotSchema } from './snapshot.ts';
import { UsageRecordSchema } from './usage-record.ts';
import { UserSchema } from './user.ts';
import { VmSchema } from './vm.ts';

export * from './audit-event.ts';
export * from './endorser.ts';
export * from './execution.ts';
export * from './host.ts';
export * from './ids.ts';
export * from './image.ts';
export * from './image-copy.ts';
export * from './image-list-entry.ts';
export * from './image-list-subscription.ts';
export * from './lock.ts';
export * from './operation.ts';
export * from './permission.ts';
export * from './published-image-list.ts';
export * from './quota.ts';
export * from './replica.ts';
export * from './session.ts';
export * from './snapshot.ts';
export * from './usage-record.ts';
export * from './user.ts';
export * from './vm.ts';

/** ENTITIES are every entity's schema, as the ORM is given them. */
export const ENTITIES = [
  UserSchema,
  SessionSchema,
  HostSchema,
  PermissionSchema,
  QuotaSchema,
  OperationSchema,
  AuditEventSchema,
  ImageSchema,
  ImageCopySchema,
  VmSchema,
  SnapshotSchema,
  UsageRecordSchema,
  EndorserSchema,
  ImageListSubscriptionSchema,
  ImageListEntrySchema,
  PublishedImageListSchema,
  ExecutionSchema,
  ReplicaSchema,
  LockSchema,
] as const;
