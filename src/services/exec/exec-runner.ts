import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '../../db/database.ts';
import {
  Execution,
  type ExecutionState,
  FINAL_EXECUTION_STATES,
} from '../../entities/execution.ts';
import type { ExecutionId, OperationId, SessionId, UserId, VmId } from '../../entities/ids.ts';
import { Operation } from '../../entities/operation.ts';
import { User } from '../../entities/user.ts';
import type { Vm } from '../../entities/vm.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { ServiceError } from '../errors.ts';
import type { Limiter } from '../limiter.ts';
import {
  type OperationContext,
  OperationDetached,
  type OperationRunner,
  SHUTDOWN,
} from '../operations/operation-runner.ts';
import { transferDetails } from '../operations/transfer-progress.ts';
import type { VmService } from '../vms/vm-service.ts';
import { deliverFile, type FileSpec } from './guest-file.ts';
import { agentFailure, GuestLink } from './guest-link.ts';
import { type CommandSpec, GuestProcess } from './guest-process.ts';
import { LineSplitter } from './line-splitter.ts';
import type { ExecStatus, OutputLog, OutputLogs } from './output-log.ts';

/** Job is what one execution does in its VM: deliver a file, run a command, or both in turn. */
export interface Job {
  /** file is hashed once for all the VMs it goes to. */
  readonly file: (FileSpec & { readonly sha256: string }) | null;
  readonly command: CommandSpec | null;
  readonly timeoutSeconds: number;
}

/** ExecRunnerDeps are the process-wide parts executions run with. */
export interface ExecRunnerDeps {
  readonly fork: () => EntityManager;
  readonly operations: OperationRunner;
  readonly audit: AuditService;
  /** vms gives a VmService on a fresh unit of work, to find a VM's domain where it is now. */
  readonly vms: () => VmService;
  readonly logs: OutputLogs;
  /** starts bounds how many executions deliver their file and start their command at once. */
  readonly starts: Limiter;
}

// A running command is looked at this often: soon after output, less often while it is quiet.
const POLL_MIN_MS = 100;
const POLL_MAX_MS = 1000;

/**
 * ExecRunner runs executions in the background, each as an Operation (`vmExec`, or `vmFilePut`
 * for a delivery): it delivers the file, starts the command, streams its output into the
 * execution's OutputLog, kills it on timeout or cancel, and records how it ended. One per
 * controller process.
 */
export class ExecRunner {
  private readonly deps: ExecRunnerDeps;

  constructor(deps: ExecRunnerDeps) {
    this.deps = deps;
  }

  /**
   * launch records an execution in `em` (flushed by the caller) and starts it once the row is
   * written; `written` is the caller's flush.
   */
  async launch(
    em: EntityManager,
    actor: Actor,
    vm: Vm,
    job: Job,
    written: Promise<void>,
  ): Promise<Execution> {
    const kind = job.file ? 'vmFilePut' : 'vmExec';
    let id: ExecutionId | null = null;
    const op = await this.deps.operations.start({
      kind,
      actorId: actor.userId,
      targetType: 'VM',
      targetId: vm.id,
      work: async (ctx) => {
        await written;
        if (id) await this.run(ctx, id, vm.id, actor, job);
      },
    });
    const execution = em.create(Execution, {
      vm,
      vmName: vm.name,
      actor: em.getReference(User, actor.userId),
      operation: em.getReference(Operation, op.id),
      command: job.command?.command ?? null,
      args: [...(job.command?.args ?? [])],
      envNames: (job.command?.env ?? []).map((e) => e.slice(0, e.indexOf('='))),
      inputBytes: job.command?.input?.length ?? 0,
      timeoutSeconds: job.timeoutSeconds,
      filePath: job.file?.path ?? null,
      fileBytes: job.file ? BigInt(job.file.data.length) : null,
      fileMode: job.file?.mode ?? null,
      fileSha256: job.file?.sha256 ?? null,
    });
    id = execution.id;
    this.deps.logs.open(execution.id).state(statusOf(execution), false);
    return execution;
  }

  private async run(
    ctx: OperationContext,
    id: ExecutionId,
    vmId: VmId,
    actor: Actor,
    job: Job,
  ): Promise<void> {
    const log = this.deps.logs.get(id);
    if (!log) throw new Error(`execution ${id} has no output log`);
    const link = new GuestLink(() => this.deps.vms().locate(vmId));
    let proc: GuestProcess | null = null;
    try {
      proc = await this.deps.starts.run(() => this.begin(ctx, id, log, link, job), ctx.signal);
    } catch (err) {
      const status = ctx.signal.aborted
        ? ended('CANCELLED')
        : ended('FAILED', agentFailure(err).message);
      const failure = failureOf(status, job.timeoutSeconds) ?? 'cancelled';
      await this.end(id, log, actor, status, failure);
      throw new ServiceError('REFUSED', failure);
    }
    const deadline = Date.now() + job.timeoutSeconds * 1000;
    await this.settle(ctx, id, log, actor, proc, deadline, job.timeoutSeconds);
  }

  /**
   * resume follows again the commands left running in guests by a controller that stopped (its
   * operations `ids`, kept RUNNING by settleOrphans): their output is read from the start of
   * the files in the guest, and their timeouts still count from when they started.
   */
  async resume(ids: readonly OperationId[]): Promise<void> {
    if (ids.length === 0) return;
    const em = this.deps.fork();
    const running = await em.find(Execution, {
      operation: { $in: [...ids] },
      state: 'RUNNING',
      guestPid: { $ne: null },
    });
    for (const e of running) {
      const log = this.deps.logs.resume(e.id);
      if (log.lastState() !== e.state) log.state(statusOf(e), false);
      const actor = e.actor ? resumedActor(e.actor.id) : null;
      const vmId = e.vm?.id ?? null;
      const pid = e.guestPid as number;
      const deadline = (e.startedAt ?? e.createdAt).getTime() + e.timeoutSeconds * 1000;
      this.deps.operations.resume(e.operation.id, async (ctx) => {
        let proc: GuestProcess;
        try {
          if (!vmId) throw new ServiceError('NOT_FOUND', 'the VM was removed');
          const link = new GuestLink(() => this.deps.vms().locate(vmId));
          proc = await GuestProcess.reattach(link, outputPrefix(e.id), pid);
        } catch (err) {
          const failure = `lost the command when the controller restarted: ${agentFailure(err).message}`;
          await this.end(e.id, log, actor, ended('FAILED', failure), failure);
          throw new ServiceError('REFUSED', failure);
        }
        await this.settle(ctx, e.id, log, actor, proc, deadline, e.timeoutSeconds);
      });
    }
  }

  // Follows a started command (if any) to its end and records how it ended.
  private async settle(
    ctx: OperationContext,
    id: ExecutionId,
    log: OutputLog,
    actor: Actor | null,
    proc: GuestProcess | null,
    deadline: number,
    timeoutSeconds: number,
  ): Promise<void> {
    const status = proc ? await this.follow(ctx, log, proc, deadline) : ended('FINISHED');
    if (proc) await proc.close().catch(() => undefined);
    const failure = failureOf(status, timeoutSeconds);
    await this.end(id, log, actor, status, failure);
    // The operation fails with it (or is CANCELLED, as the runner sees the cancel).
    if (failure) throw new ServiceError('REFUSED', failure);
  }

  // Delivers the file and starts the command, in one of the bounded start slots.
  private async begin(
    ctx: OperationContext,
    id: ExecutionId,
    log: OutputLog,
    link: GuestLink,
    job: Job,
  ): Promise<GuestProcess | null> {
    const cancelled = () => {
      if (ctx.signal.aborted) throw new ServiceError('REFUSED', 'cancelled');
    };
    cancelled();
    const { file, command } = job;
    if (file) {
      await this.record(id, log, { state: 'DELIVERING', startedAt: new Date() });
      const total = BigInt(file.data.length);
      await deliverFile(
        link,
        file,
        `kumo-${id.slice(0, 8)}`,
        (n) =>
          ctx.progress(
            n / Math.max(1, file.data.length),
            'delivering the file',
            transferDetails(BigInt(n), total),
          ),
        ctx.signal,
      );
    }
    if (!command) return null;
    cancelled();
    const proc = await GuestProcess.start(link, outputPrefix(id), command);
    ctx.progress(0, 'running');
    await this.record(id, log, {
      state: 'RUNNING',
      guestPid: proc.pid,
      ...(file ? {} : { startedAt: new Date() }),
    });
    return proc;
  }

  /**
   * follow streams the output until the command ends; it kills the command on timeout or
   * cancel, and leaves it running (detached, for the next controller) when this one shuts down.
   */
  private async follow(
    ctx: OperationContext,
    log: OutputLog,
    proc: GuestProcess,
    deadline: number,
  ): Promise<ExecStatus> {
    const lines = { out: new LineSplitter(), err: new LineSplitter() };
    let killedFor: 'TIMED_OUT' | 'CANCELLED' | null = null;
    let pause = POLL_MIN_MS;
    for (;;) {
      let polled: Awaited<ReturnType<GuestProcess['poll']>>;
      try {
        polled = await proc.poll();
      } catch (err) {
        return ended(
          'FAILED',
          `lost the guest agent while the command ran: ${agentFailure(err).message}`,
        );
      }
      for (const text of lines.out.push(polled.stdout)) log.line('STDOUT', text);
      for (const text of lines.err.push(polled.stderr)) log.line('STDERR', text);
      if (polled.exit) {
        for (const text of lines.out.end()) log.line('STDOUT', text);
        for (const text of lines.err.end()) log.line('STDERR', text);
        return { ...ended(killedFor ?? 'FINISHED'), ...polled.exit };
      }
      if (ctx.signal.reason === SHUTDOWN && !killedFor) {
        await proc.release().catch(() => undefined);
        throw new OperationDetached();
      }
      if (!killedFor && (ctx.signal.aborted || Date.now() >= deadline)) {
        killedFor = ctx.signal.aborted ? 'CANCELLED' : 'TIMED_OUT';
        try {
          await proc.kill();
        } catch (err) {
          return ended('FAILED', `the command could not be killed: ${agentFailure(err).message}`);
        }
        pause = POLL_MIN_MS;
        continue;
      }
      const quiet = polled.stdout.length === 0 && polled.stderr.length === 0;
      pause = quiet ? Math.min(pause * 2, POLL_MAX_MS) : POLL_MIN_MS;
      const wait = Math.min(pause, Math.max(0, deadline - Date.now()));
      // A cancel cuts the pause short, so the kill follows at once.
      await sleep(wait, undefined, killedFor ? {} : { signal: ctx.signal }).catch(() => undefined);
    }
  }

  private async end(
    id: ExecutionId,
    log: OutputLog,
    actor: Actor | null,
    status: ExecStatus,
    failure: string | null,
  ): Promise<void> {
    await this.record(id, log, { ...status, guestPid: null, finishedAt: new Date() }).catch(
      (err: unknown) => process.emitWarning(`recording the end of execution ${id}: ${String(err)}`),
    );
    await this.deps.audit
      .record({
        actor,
        action: 'vmExecEnd',
        targetType: 'EXECUTION',
        targetId: id,
        result: failure === null ? 'OK' : 'ERROR',
        message: failure,
        details: { state: status.state, exitCode: status.exitCode, signal: status.signal },
      })
      .catch((err: unknown) => process.emitWarning(`auditing execution ${id}: ${String(err)}`));
  }

  // Writes a change of the execution and tells its followers.
  private async record(
    id: ExecutionId,
    log: OutputLog,
    changes: Partial<
      Pick<
        Execution,
        'state' | 'guestPid' | 'exitCode' | 'signal' | 'error' | 'startedAt' | 'finishedAt'
      >
    >,
  ): Promise<void> {
    const em = this.deps.fork();
    const execution = await em.findOneOrFail(Execution, { id });
    em.assign(execution, changes);
    await em.flush();
    log.state(statusOf(execution), FINAL_EXECUTION_STATES.has(execution.state));
  }
}

/** statusOf is an execution's state as its output log tells it. */
export function statusOf(e: Execution): ExecStatus {
  return {
    state: e.state,
    exitCode: e.exitCode ?? null,
    signal: e.signal ?? null,
    error: e.error ?? null,
  };
}

function ended(state: ExecutionState, error?: string): ExecStatus {
  return { state, exitCode: null, signal: null, error: error ?? null };
}

// Why it did not succeed, for its operation and audit event: a non-zero exit counts, as in any
// deployment tool; null when it did.
function failureOf(s: ExecStatus, timeoutSeconds: number): string | null {
  switch (s.state) {
    case 'FINISHED':
      if (s.signal !== null) return `killed by signal ${s.signal}`;
      return s.exitCode !== null && s.exitCode !== 0 ? `exited with status ${s.exitCode}` : null;
    case 'TIMED_OUT':
      return `timed out after ${timeoutSeconds} s and was killed`;
    case 'CANCELLED':
      return 'cancelled';
    default:
      return s.error ?? s.state.toLowerCase();
  }
}

/** outputPrefix names an execution's output files in the guest: `<prefix>.out`, `<prefix>.err`. */
function outputPrefix(id: ExecutionId): string {
  return `/tmp/.kumo-exec-${id}`;
}

// Who started a resumed execution, for its audit event: the session it came from is gone.
function resumedActor(userId: UserId): Actor {
  return { userId, sessionId: '' as SessionId, isAdmin: false, address: '' };
}
