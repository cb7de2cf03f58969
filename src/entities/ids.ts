import { randomUUID } from 'node:crypto';

/** Brand tags a string with what it identifies, so two kinds of id never mix unnoticed. */
export type Brand<K extends string> = string & { readonly __brand: K };

/** UserId identifies a User. */
export type UserId = Brand<'UserId'>;
/** SessionId identifies a Session. */
export type SessionId = Brand<'SessionId'>;
/** HostId identifies a Host. */
export type HostId = Brand<'HostId'>;
/** PermissionId identifies a Permission. */
export type PermissionId = Brand<'PermissionId'>;
/** OperationId identifies an Operation. */
export type OperationId = Brand<'OperationId'>;
/** AuditEventId identifies an AuditEvent. */
export type AuditEventId = Brand<'AuditEventId'>;
/** ImageId identifies an Image. */
export type ImageId = Brand<'ImageId'>;
/** VmId identifies a Vm. */
export type VmId = Brand<'VmId'>;
/** SnapshotId identifies a Snapshot. */
export type SnapshotId = Brand<'SnapshotId'>;
/** ImageCopyId identifies an ImageCopy. */
export type ImageCopyId = Brand<'ImageCopyId'>;
/** UsageRecordId identifies a UsageRecord. */
export type UsageRecordId = Brand<'UsageRecordId'>;
/** EndorserId identifies an Endorser. */
export type EndorserId = Brand<'EndorserId'>;
/** ImageListSubscriptionId identifies an ImageListSubscription. */
export type ImageListSubscriptionId = Brand<'ImageListSubscriptionId'>;
/** ImageListEntryId identifies an ImageListEntry. */
export type ImageListEntryId = Brand<'ImageListEntryId'>;
/** PublishedImageListId identifies a PublishedImageList (it is the list's dc:identifier). */
export type PublishedImageListId = Brand<'PublishedImageListId'>;

/** ExecutionId identifies an Execution. */
export type ExecutionId = Brand<'ExecutionId'>;
/** ReplicaId identifies a Replica (one run of one controller process). */
export type ReplicaId = Brand<'ReplicaId'>;

/** newId makes a fresh random (v4) UUID as an id of kind T. */
export function newId<T extends Brand<string>>(): T {
  return randomUUID() as T;
}

/**
 * TARGET_TYPES are the kinds of thing an Operation works on or an AuditEvent is about. The
 * column is plain text (no check constraint), so a new kind needs no migration.
 */
export const TARGET_TYPES = [
  'USER',
  'SESSION',
  'HOST',
  'PERMISSION',
  'QUOTA',
  'IMAGE',
  'VM',
  'SNAPSHOT',
  'ENDORSER',
  'IMAGE_LIST',
  'EXECUTION',
  'SYSTEM',
] as const;
/** TargetType is one of TARGET_TYPES. */
export type TargetType = (typeof TARGET_TYPES)[number];
