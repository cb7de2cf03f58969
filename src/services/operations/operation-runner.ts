import type { EntityManager } from '@mikro-orm/core';
import type { OperationId, ReplicaId, TargetType, UserId } from '../../entities/ids.ts';
import { Operation, type OperationStatus } from '../../entities/operation.ts';
import { Replica } from '../../entities/replica.ts';
import { User } from '../../entities/user.ts';
import { isServiceError } from '../errors.ts';
import type { EventBus } from '../events.ts';

/** OperationUpdate is what subscribers of operationUpdated receive. */
export interface OperationUpdate {
  readonly id: OperationId;
  readonly kind: string;
  readonly actorId: UserId | null;
  readonly status: OperationStatus;
  readonly progress: number;
  readonly phase: string | null;
  readonly error: string | null;
  /** details are the operation kind's own figures (a migration's bytes and rates, say). */
  readonly details: OperationDetails;
}

/** OperationDetails are figures an operation reports beside its progress (JSON, per kind). */
export type OperationDetails = Readonly<Record<string, unknown>>;

/** OperationContext is what a running operation's work gets: its id, progress reports, its cancel signal. */
export interface OperationContext {
  readonly id: OperationId;
  readonly signal: AbortSignal;
  /**
   * progress records how far the work is (0 to 1), what it is doing and, optionally, its own
   * figures; frequent calls are coalesced.
   */
  progress(fraction: number, phase?: string, details?: OperationDetails): void;
  /**
   * uncancellable marks a point of no return: from now on a cancel is refused with `reason`
   * (a migration whose guest already runs on the destination, say); null lifts it.
   */
  uncancellable(reason: string | null): void;
}

/** CancelOutcome says whether a cancel reached a running operation, and why not. */
export type CancelOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'NOT_RUNNING' }
  | { readonly ok: false; readonly reason: 'PAST_RETURN'; readonly why: string };

/** OperationRequest describes an operation to start. */
export interface OperationRequest {
  readonly kind: string;
  readonly actorId: UserId | null;
  readonly targetType: TargetType;
  readonly targetId?: string | null;
  /** details are the operation's figures from the start (what later progress replaces). */
  readonly details?: OperationDetails;
  readonly work: (ctx: OperationContext) => Promise<void>;
}

/**
 * OperationDetached is what work throws to leave its operation RUNNING when the controller
 * shuts down: the work goes on without it (a command in a guest) and a controller that starts
 * later resumes it.
 */
export class OperationDetached extends Error {
  override readonly name = 'OperationDetached';
}

/** SHUTDOWN is the abort reason of operations stopped because the controller is closing. */
export const SHUTDOWN = new Error('the controller is shutting down');

interface Running {
  readonly controller: AbortController;
  done: Promise<void>;
  uncancellable: string | null;
}

// Progress is written and published at most this often per operation.
const PROGRESS_INTERVAL_MS = 250;

/**
 * OperationRunner runs long actions in the background as Operation rows: RUNNING while the
 * work runs, then SUCCEEDED, FAILED (with the error's message) or CANCELLED. Every change is
 * written on a fresh unit of work and published as operationUpdated. It keeps the abort
 * controller of each running operation so it can be cancelled. One per controller process:
 * its operations name its replica, and once another replica has taken them over (this one
 * was found dead) nothing more of them is written here.
 */
export class OperationRunner {
  private readonly fork: () => EntityManager;
  private readonly events: EventBus;
  private readonly replica: ReplicaId;
  private readonly running = new Map<OperationId, Running>();

  constructor(fork: () => EntityManager, events: EventBus, replica: ReplicaId) {
    this.fork = fork;
    this.events = events;
    this.replica = replica;
  }

  /** start records the operation and runs its work without waiting for it. */
  async start(req: OperationRequest): Promise<Operation> {
    const em = this.fork();
    const op = em.create(Operation, {
      kind: req.kind,
      status: 'RUNNING',
      startedAt: new Date(),
      targetType: req.targetType,
      targetId: req.targetId ?? null,
      actor: req.actorId ? em.getReference(User, req.actorId) : null,
      replica: em.getReference(Replica, this.replica),
      ...(req.details ? { details: { ...req.details } } : {}),
    });
    await em.flush();
    this.launch(op.id, req.work);
    this.publish(op);
    return op;
  }

  /** resume runs new work for an operation an earlier controller process left RUNNING. */
  resume(id: OperationId, work: OperationRequest['work']): void {
    this.launch(id, work);
  }

  private launch(id: OperationId, work: OperationRequest['work']): void {
    const entry: Running = {
      controller: new AbortController(),
      done: Promise.resolve(),
      uncancellable: null,
    };
    entry.done = this.run(id, work, entry);
    this.running.set(id, entry);
    void entry.done.finally(() => this.running.delete(id));
  }

  /** cancel aborts a running operation, unless it is not running here or past its point of no return. */
  cancel(id: OperationId): CancelOutcome {
    const entry = this.running.get(id);
    if (!entry) return { ok: false, reason: 'NOT_RUNNING' };
    if (entry.uncancellable !== null)
      return { ok: false, reason: 'PAST_RETURN', why: entry.uncancellable };
    entry.controller.abort();
    return { ok: true };
  }

  /** settled resolves when a running operation has finished (at once if it is not running). */
  async settled(id: OperationId): Promise<void> {
    await this.running.get(id)?.done;
  }

  /**
   * close stops every running operation (aborting it with SHUTDOWN: work that can go on
   * without the controller detaches instead) and waits for them to finish.
   */
  async close(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort(SHUTDOWN);
    await Promise.allSettled(all.map((r) => r.done));
  }

  private async run(
    id: OperationId,
    work: OperationRequest['work'],
    entry: Running,
  ): Promise<void> {
    const { controller } = entry;
    let lastWrite = 0;
    let pending: {
      fraction: number;
      phase: string | undefined;
      details: OperationDetails | undefined;
    } | null = null;
    const write = async () => {
      if (!pending) return;
      const { fraction, phase, details } = pending;
      pending = null;
      lastWrite = Date.now();
      await this.update(id, {
        progress: Math.min(1, Math.max(0, fraction)),
        ...(phase !== undefined ? { phase } : {}),
        ...(details !== undefined ? { details: { ...details } } : {}),
      });
    };
    const ctx: OperationContext = {
      id,
      signal: controller.signal,
      progress: (fraction, phase, details) => {
        pending = { fraction, phase, details };
        if (Date.now() - lastWrite >= PROGRESS_INTERVAL_MS) void write().catch(() => undefined);
      },
      uncancellable: (reason) => {
        entry.uncancellable = reason;
      },
    };
    let final: { status: OperationStatus; error: string | null };
    try {
      await work(ctx);
      final = controller.signal.aborted
        ? { status: 'CANCELLED', error: null }
        : { status: 'SUCCEEDED', error: null };
    } catch (err) {
      if (err instanceof OperationDetached) {
        await write().catch(() => undefined);
        return;
      }
      final = controller.signal.aborted
        ? { status: 'CANCELLED', error: null }
        : {
            status: 'FAILED',
            error: isServiceError(err) || err instanceof Error ? err.message : String(err),
          };
    }
    await write().catch(() => undefined);
    await this.update(id, {
      status: final.status,
      error: final.error,
      finishedAt: new Date(),
      ...(final.status === 'SUCCEEDED' ? { progress: 1 } : {}),
    }).catch((err: unknown) =>
      process.emitWarning(`recording the end of operation ${id}: ${String(err)}`),
    );
  }

  private async update(
    id: OperationId,
    changes: Partial<
      Pick<Operation, 'status' | 'progress' | 'phase' | 'error' | 'finishedAt' | 'details'>
    >,
  ): Promise<void> {
    const em = this.fork();
    const op = await em.findOne(Operation, { id, replica: this.replica });
    if (!op) return;
    em.assign(op, changes);
    await em.flush();
    this.publish(op);
  }

  private publish(op: Operation): void {
    this.events.publish('operationUpdated', {
      id: op.id,
      kind: op.kind,
      actorId: op.actor?.id ?? null,
      status: op.status,
      progress: op.progress,
      phase: op.phase ?? null,
      error: op.error ?? null,
      details: op.details,
    });
  }
}
