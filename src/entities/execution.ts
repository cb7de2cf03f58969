import { defineEntity, p } from '@mikro-orm/core';
import { type ExecutionId, newId } from './ids.ts';
import { Operation } from './operation.ts';
import { User } from './user.ts';
import { Vm } from './vm.ts';

/**
 * EXECUTION_STATES: QUEUED waits for a start slot, DELIVERING writes the file, RUNNING runs the
 * command; the other four are final. FINISHED means the file arrived and the command (if any)
 * exited by itself: `exitCode` or `signal` say how.
 */
export const EXECUTION_STATES = [
  'QUEUED',
  'DELIVERING',
  'RUNNING',
  'FINISHED',
  'FAILED',
  'TIMED_OUT',
  'CANCELLED',
] as const;
/** ExecutionState is one of EXECUTION_STATES. */
export type ExecutionState = (typeof EXECUTION_STATES)[number];

/** FINAL_EXECUTION_STATES are the states an execution ends in. */
export const FINAL_EXECUTION_STATES: ReadonlySet<ExecutionState> = new Set([
  'FINISHED',
  'FAILED',
  'TIMED_OUT',
  'CANCELLED',
]);

/** ExecutionSchema maps Execution to the `executions` table. */
export const ExecutionSchema = defineEntity({
  name: 'Execution',
  tableName: 'executions',
  properties: {
    id: p
      .uuid()
      .$type<ExecutionId>()
      .primary()
      .onCreate(() => newId<ExecutionId>()),
    // Kept when the VM goes: the trail of what ran where outlives it.
    vm: () => p.manyToOne(Vm).ref().nullable().deleteRule('set null').index(),
    vmName: p.string().length(64),
    actor: () => p.manyToOne(User).ref().nullable().deleteRule('set null').index(),
    operation: () => p.manyToOne(Operation).ref().deleteRule('cascade'),
    /** command is the program run after the file (if any) arrived; null for a file alone. */
    command: p.text().nullable(),
    args: p.json<string[]>().onCreate(() => []),
    /** envNames are the names of the variables given; their values are not kept. */
    envNames: p.json<string[]>().onCreate(() => []),
    /** inputBytes is the size of what was written to the command's stdin. */
    inputBytes: p.integer().default(0),
    timeoutSeconds: p.integer(),
    /** filePath, fileBytes, fileMode and fileSha256 describe the file delivered, if any. */
    filePath: p.text().nullable(),
    fileBytes: p.bigint('bigint').nullable(),
    fileMode: p.integer().nullable(),
    fileSha256: p.string().length(64).nullable(),
    state: p.enum(EXECUTION_STATES).default('QUEUED'),
    /** guestPid is the command's pid in the guest while it runs. */
    guestPid: p.integer().nullable(),
    exitCode: p.integer().nullable(),
    signal: p.integer().nullable(),
    error: p.text().nullable(),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .index(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
  },
});

/** Execution is one command run (and/or one file delivered) in one VM through its guest agent. */
export class Execution extends ExecutionSchema.class {}
ExecutionSchema.setClass(Execution);
