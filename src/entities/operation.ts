import { defineEntity, p } from '@mikro-orm/core';
import { newId, type OperationId, type TargetType } from './ids.ts';
import { Replica } from './replica.ts';
import { User } from './user.ts';

/** OPERATION_STATUSES: PENDING and RUNNING are live; the other three are final. */
export const OPERATION_STATUSES = [
  'PENDING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
] as const;
/** OperationStatus is one of OPERATION_STATUSES. */
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** OperationSchema maps Operation to the `operations` table. */
export const OperationSchema = defineEntity({
  name: 'Operation',
  tableName: 'operations',
  properties: {
    id: p
      .uuid()
      .$type<OperationId>()
      .primary()
      .onCreate(() => newId<OperationId>()),
    /** kind names what is done, e.g. `vmCreate`, `imageImport`. */
    kind: p.string().length(64),
    status: p.enum(OPERATION_STATUSES).default('PENDING').index(),
    /** progress runs from 0 to 1. */
    progress: p.double().runtimeType('number').$type<number>().default(0),
    /** phase says what the operation is doing now, e.g. `copying disk`. */
    phase: p.string().length(200).nullable(),
    error: p.text().nullable(),
    targetType: p.string().length(32).$type<TargetType>(),
    targetId: p.string().length(64).nullable(),
    /** actor is who asked; null for the controller's own housekeeping. */
    actor: () => p.manyToOne(User).ref().nullable().deleteRule('set null').index(),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .index(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    details: p.json<Record<string, unknown>>().onCreate(() => ({})),
    /**
     * replica runs the operation. When it dies its row goes and this turns null: a live
     * operation without a replica is claimed and settled by another (services/replicas).
     */
    replica: () => p.manyToOne(Replica).ref().nullable().deleteRule('set null').index(),
  },
  indexes: [{ name: 'operations_target_index', properties: ['targetType', 'targetId'] }],
});

/** Operation is an action that takes longer than a moment: its status, progress and result. */
export class Operation extends OperationSchema.class {}
OperationSchema.setClass(Operation);
