import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import { Execution } from '../../entities/execution.ts';
import type { ExecutionId, VmId } from '../../entities/ids.ts';
import type { Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import type { VmService } from '../vms/vm-service.ts';
import type { ExecRunner, Job } from './exec-runner.ts';
import { statusOf } from './exec-runner.ts';
import { checkGuestPath } from './guest-path.ts';
import type { CommandSpec } from './guest-process.ts';
import type { OutputEvent, OutputLogs } from './output-log.ts';

/** ExecSettings are the limits of vmExec and vmFilePut. */
export interface ExecSettings {
  /** filePaths are the guest directories files may be delivered into. */
  readonly filePaths: readonly string[];
  readonly maxFileBytes: number;
  readonly defaultTimeoutSeconds: number;
  readonly maxTimeoutSeconds: number;
  /** maxVms bounds the VMs of one request. */
  readonly maxVms: number;
}

/** ExecDeps are the process-wide parts of executions. */
export interface ExecDeps {
  readonly runner: ExecRunner;
  readonly logs: OutputLogs;
  readonly settings: ExecSettings;
}

/** CommandInput is a command as asked for. */
export interface CommandInput {
  readonly command: string;
  readonly args?: readonly string[];
  /** env items are `NAME=value`. */
  readonly env?: readonly string[];
  /** input is written to the command's stdin. */
  readonly input?: string;
  readonly timeoutSeconds?: number;
}

/** FileInput is a file to deliver, as asked for. */
export interface FileInput {
  readonly path: string;
  readonly data: Buffer;
  /** mode is the file's permission bits. @default 0o644 */
  readonly mode?: number;
}

/** VmOutcome is what became of one VM of a request: its execution, or why it was refused. */
export interface VmOutcome {
  readonly vm: VmId;
  readonly execution: Execution | null;
  readonly error: ServiceError | null;
}

// Everything given to a command travels in one agent message of at most 4 MiB, as base64.
const MAX_COMMAND_BYTES = 1024 * 1024;
const ENV_ITEM = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * ExecService runs commands and delivers files in many VMs at once, through each VM's guest
 * agent. Every VM is decided on its own: one the actor may not use (OPERATOR or OWNER), or that
 * is not running, is refused alone and the others go ahead. Executions are seen by whoever
 * started them, and by admins.
 */
export class ExecService {
  private readonly em: EntityManager;
  private readonly vms: VmService;
  private readonly audit: AuditService;
  private readonly deps: ExecDeps;

  constructor(em: EntityManager, vms: VmService, audit: AuditService, deps: ExecDeps) {
    this.em = em;
    this.vms = vms;
    this.audit = audit;
    this.deps = deps;
  }

  /** exec starts a command in every listed VM. */
  exec(actor: Actor, vmIds: readonly VmId[], input: CommandInput): Promise<VmOutcome[]> {
    const command = this.command(input, 'input');
    return this.launch(actor, vmIds, 'vmExec', {
      file: null,
      command,
      timeoutSeconds: this.timeout(input.timeoutSeconds, 'input.timeoutSeconds'),
    });
  }

  /** putFile delivers a file to every listed VM, then runs `run` there if given. */
  putFile(
    actor: Actor,
    vmIds: readonly VmId[],
    file: FileInput,
    run?: CommandInput,
  ): Promise<VmOutcome[]> {
    const s = this.deps.settings;
    checkGuestPath(file.path, s.filePaths, 'input.path');
    this.checkSize(file.data.length);
    const mode = file.mode ?? 0o644;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
      throw new ServiceError(
        'INVALID',
        'the mode must be octal permission bits, 0 to 7777',
        'input.mode',
      );
    return this.launch(actor, vmIds, 'vmFilePut', {
      file: {
        path: file.path,
        data: file.data,
        mode,
        sha256: createHash('sha256').update(file.data).digest('hex'),
      },
      command: run ? this.command(run, 'input.run') : null,
      timeoutSeconds: this.timeout(run?.timeoutSeconds, 'input.run.timeoutSeconds'),
    });
  }

  /** readUpload reads an uploaded file to deliver, refusing one over the size limit unread. */
  async readUpload(file: { readonly path: string; readonly bytes: bigint }): Promise<Buffer> {
    this.checkSize(Number(file.bytes));
    return readFile(file.path);
  }

  /** get returns an execution the actor started (any, for admins). */
  async get(actor: Actor, id: ExecutionId): Promise<Execution> {
    const e = await this.em.findOne(Execution, { id });
    if (!e || !(actor.isAdmin || e.actor?.id === actor.userId))
      throw new ServiceError('NOT_FOUND', `no execution ${id}`, 'execution');
    return e;
  }

  /** list returns the actor's executions (everyone's, for admins), newest first, in one VM if given. */
  async list(
    actor: Actor,
    q: { first: number; vm?: VmId; after?: { createdAt: Date; id: ExecutionId } },
  ): Promise<{ executions: Execution[]; hasNextPage: boolean }> {
    const where: FilterQuery<Execution> = actor.isAdmin ? {} : { actor: actor.userId };
    if (q.vm) where.vm = q.vm;
    if (q.after) {
      const { createdAt, id } = q.after;
      where.$or = [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }];
    }
    const found = await this.em.find(Execution, where, {
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      limit: q.first + 1,
    });
    return { executions: found.slice(0, q.first), hasNextPage: found.length > q.first };
  }

  /**
   * output follows an execution's output from after event `after`: held lines and states, then
   * new ones until it ends. Output no longer held (older than the log's bound, or from before
   * the controller restarted) shows as a gap; an execution whose log is gone gives its end.
   */
  async *output(actor: Actor, id: ExecutionId, after = 0): AsyncGenerator<OutputEvent> {
    const e = await this.get(actor, id);
    // One running on another replica is followed in this replica's mirror of its output.
    const live = e.finishedAt === null;
    const log = this.deps.logs.get(id) ?? (live ? this.deps.logs.mirrored(id) : undefined);
    if (log) {
      yield* log.follow(after);
      return;
    }
    yield { kind: 'gap', seq: after + 1, missed: null };
    yield { kind: 'state', seq: after + 1, at: e.finishedAt ?? e.createdAt, ...statusOf(e) };
  }

  private async launch(
    actor: Actor,
    vmIds: readonly VmId[],
    action: 'vmExec' | 'vmFilePut',
    job: Job,
  ): Promise<VmOutcome[]> {
    const ids = [...new Set(vmIds)];
    const max = this.deps.settings.maxVms;
    if (ids.length === 0 || ids.length > max)
      throw new ServiceError('INVALID', `name 1 to ${max} VMs`, 'input.vms');
    let flushed: (err?: unknown) => void = () => {};
    const written = new Promise<void>((resolve, reject) => {
      flushed = (err) => (err === undefined ? resolve() : reject(err));
    });
    // Nobody awaits it when every VM is refused.
    written.catch(() => undefined);
    const outcomes: VmOutcome[] = [];
    try {
      for (const id of ids) {
        try {
          const vm = await this.vms.get(actor, id, 'use');
          if (vm.state !== 'RUNNING')
            throw new ServiceError(
              'INVALID_STATE',
              `the VM is ${vm.state.toLowerCase()}; commands run only in running VMs`,
              'input.vms',
            );
          const execution = await this.deps.runner.launch(this.em, actor, vm, job, written);
          outcomes.push({ vm: id, execution, error: null });
        } catch (err) {
          if (!isServiceError(err)) throw err;
          outcomes.push({ vm: id, execution: null, error: err });
        }
      }
      await this.em.flush();
      flushed();
    } catch (err) {
      // The executions launched so far fail rather than wait for rows never written.
      flushed(err);
      throw err;
    }
    await Promise.all(outcomes.map((o) => this.record(actor, action, job, o)));
    return outcomes;
  }

  private async record(actor: Actor, action: string, job: Job, o: VmOutcome): Promise<void> {
    const denied = o.error?.code === 'FORBIDDEN' || o.error?.code === 'NOT_FOUND';
    await this.audit.record({
      actor,
      action,
      targetType: 'VM',
      targetId: o.vm,
      result: o.error ? (denied ? 'DENIED' : 'ERROR') : 'OK',
      message: o.error ? `${o.error.code}: ${o.error.message}` : null,
      details: {
        ...(o.execution ? { execution: o.execution.id } : {}),
        ...(job.command
          ? {
              command: job.command.command,
              args: job.command.args,
              envNames: job.command.env.map((e) => e.slice(0, e.indexOf('='))),
            }
          : {}),
        ...(job.file ? { path: job.file.path, bytes: job.file.data.length } : {}),
      },
    });
  }

  private command(c: CommandInput, field: string): CommandSpec {
    const invalid = (what: string, f: string) => new ServiceError('INVALID', what, `${field}.${f}`);
    if (c.command.length === 0 || c.command.includes('\0'))
      throw invalid('the command must be a program name or path, without NUL', 'command');
    const args = c.args ?? [];
    if (args.some((a) => a.includes('\0'))) throw invalid('arguments must not hold NUL', 'args');
    const env = c.env ?? [];
    const badEnv = env.find((e) => !ENV_ITEM.test(e) || e.includes('\0'));
    if (badEnv !== undefined)
      throw invalid(`environment items are NAME=value; "${badEnv.slice(0, 40)}" is not`, 'env');
    const input = c.input !== undefined ? Buffer.from(c.input, 'utf8') : null;
    const size =
      [c.command, ...args, ...env].reduce((n, s) => n + Buffer.byteLength(s), 0) +
      (input?.length ?? 0);
    if (size > MAX_COMMAND_BYTES)
      throw invalid(
        `the command, its arguments, environment and input come to ${size} bytes; at most ${MAX_COMMAND_BYTES} (deliver bigger things as a file)`,
        'args',
      );
    return { command: c.command, args, env, input };
  }

  private checkSize(bytes: number): void {
    const max = this.deps.settings.maxFileBytes;
    if (bytes > max)
      throw new ServiceError(
        'INVALID',
        `the file is ${bytes} bytes; at most ${max} may be delivered`,
        'input.content',
      );
  }

  private timeout(seconds: number | undefined, field: string): number {
    const s = this.deps.settings;
    const t = seconds ?? s.defaultTimeoutSeconds;
    if (!Number.isInteger(t) || t < 1 || t > s.maxTimeoutSeconds)
      throw new ServiceError(
        'INVALID',
        `the timeout must be 1 to ${s.maxTimeoutSeconds} seconds`,
        field,
      );
    return t;
  }
}
