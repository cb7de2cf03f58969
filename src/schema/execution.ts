import { z } from 'zod';
import { EXECUTION_STATES, Execution } from '../entities/execution.ts';
import type { ExecutionId, VmId } from '../entities/ids.ts';
import type { UploadRef } from '../server/uploads.ts';
import { ServiceError } from '../services/errors.ts';
import type { CommandInput, VmOutcome } from '../services/exec/exec-service.ts';
import type { OutputEvent } from '../services/exec/output-log.ts';
import { builder } from './builder.ts';
import { connectionOf, decodeCursor, pageSize } from './connection.ts';
import { actorOf, type KumoContext } from './context.ts';
import { OperationType } from './operation.ts';
import { UploadScalar } from './upload.ts';
import { UserType } from './user.ts';
import { runForPayload, runForQuery, UserError, type UserErrorShape } from './user-errors.ts';
import { VmType } from './vm.ts';

const ExecutionStateEnum = builder.enumType('ExecutionState', {
  description:
    'QUEUED waits for a start slot, DELIVERING writes the file, RUNNING runs the command. FINISHED: the file arrived and the command ended by itself (see exitCode and signal); FAILED: it could not be done (see error); TIMED_OUT and CANCELLED: the command was killed.',
  values: EXECUTION_STATES,
});

const ExecStreamEnum = builder.enumType('ExecStream', { values: ['STDOUT', 'STDERR'] as const });

const ExecFileType = builder.objectRef<Execution>('ExecFile').implement({
  description: 'A file delivered into the guest.',
  fields: (t) => ({
    path: t.string({ resolve: (e) => e.filePath ?? '' }),
    bytes: t.field({ type: 'BigInt', resolve: (e) => e.fileBytes ?? 0n }),
    mode: t.string({
      description: 'Permission bits, octal (`0644`).',
      resolve: (e) => (e.fileMode ?? 0).toString(8).padStart(4, '0'),
    }),
    sha256: t.string({ resolve: (e) => e.fileSha256 ?? '' }),
  }),
});

/** ExecutionType is one command run, or file delivered, in one VM: seen by who started it and admins. */
export const ExecutionType = builder.node(Execution, {
  name: 'Execution',
  id: { resolve: (e) => e.id },
  authScopes: (e, ctx) =>
    ctx.actor !== null && (ctx.actor.isAdmin || e.actor?.id === ctx.actor.userId),
  loadOne: (id, ctx) => ctx.services.em.findOne(Execution, { id: id as ExecutionId }),
  fields: (t) => ({
    vm: t.field({
      type: VmType,
      nullable: true,
      description: 'The VM it ran in; null once the VM is removed (vmName stays).',
      resolve: (e, _a, ctx) => (e.vm ? ctx.services.vms.view(e.vm.id as VmId) : null),
    }),
    vmName: t.exposeString('vmName'),
    user: t.field({
      type: UserType,
      nullable: true,
      description: 'Who started it.',
      resolve: (e) => e.actor?.load() ?? null,
    }),
    operation: t.field({
      type: OperationType,
      description: 'Its operation: cancel it to kill the command.',
      resolve: (e) => e.operation.loadOrFail(),
    }),
    command: t.exposeString('command', { nullable: true }),
    args: t.exposeStringList('args'),
    envNames: t.exposeStringList('envNames', {
      description: 'The names of the environment variables given (their values are not kept).',
    }),
    inputBytes: t.exposeInt('inputBytes'),
    timeoutSeconds: t.exposeInt('timeoutSeconds'),
    file: t.field({
      type: ExecFileType,
      nullable: true,
      resolve: (e) => (e.filePath ? e : null),
    }),
    state: t.field({ type: ExecutionStateEnum, resolve: (e) => e.state }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    signal: t.exposeInt('signal', {
      nullable: true,
      description: 'The signal that ended the command (9 when Kumo killed it).',
    }),
    error: t.exposeString('error', { nullable: true }),
    guestPid: t.exposeInt('guestPid', {
      nullable: true,
      description: "The command's pid in the guest while it runs.",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  executions: t.connection({
    type: ExecutionType,
    authScopes: { signedIn: true },
    description: 'Your executions, newest first (everyone’s, for admins); in one VM if given.',
    args: { vm: t.arg.globalID({ for: VmType, required: false }) },
    resolve: async (_r, args, ctx) => {
      const after = decodeCursor(args.after)?.split('|');
      const { executions, hasNextPage } = await ctx.services.exec.list(actorOf(ctx), {
        first: pageSize(args),
        ...(args.vm ? { vm: args.vm.id as VmId } : {}),
        ...(after?.length === 2
          ? { after: { createdAt: new Date(after[0] as string), id: after[1] as ExecutionId } }
          : {}),
      });
      return connectionOf(executions, (e) => `${e.createdAt.toISOString()}|${e.id}`, hasNextPage);
    },
  }),
}));

type Line = Extract<OutputEvent, { kind: 'line' }>;
type State = Extract<OutputEvent, { kind: 'state' }>;
type Gap = Extract<OutputEvent, { kind: 'gap' }>;

const ExecLineType = builder.objectRef<Line>('ExecLine').implement({
  description: 'A line the command wrote (without its newline).',
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    at: t.expose('at', { type: 'DateTime' }),
    stream: t.field({ type: ExecStreamEnum, resolve: (l) => l.stream }),
    text: t.exposeString('text'),
  }),
});

const ExecStateChangeType = builder.objectRef<State>('ExecStateChange').implement({
  description: "The execution's state changed; the last event of its output is its final state.",
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    at: t.expose('at', { type: 'DateTime' }),
    state: t.field({ type: ExecutionStateEnum, resolve: (s) => s.state }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    signal: t.exposeInt('signal', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const ExecGapType = builder.objectRef<Gap>('ExecGap').implement({
  description:
    'Output before `seq` is no longer held: older than what is kept per execution, or from before the controller restarted.',
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    missed: t.exposeInt('missed', {
      nullable: true,
      description: 'How many events were missed; null when not known.',
    }),
  }),
});

const ExecOutputEventType = builder.unionType('ExecOutputEvent', {
  types: [ExecLineType, ExecStateChangeType, ExecGapType],
  resolveType: (e) =>
    e.kind === 'line' ? ExecLineType : e.kind === 'state' ? ExecStateChangeType : ExecGapType,
});

const VmExecResultType = builder.objectRef<VmOutcome>('VmExecResult').implement({
  description: 'What became of one VM of the request: its execution, or why it was refused.',
  fields: (t) => ({
    vm: t.globalID({ resolve: (o) => ({ type: 'Vm', id: o.vm }) }),
    execution: t.field({ type: ExecutionType, nullable: true, resolve: (o) => o.execution }),
    error: t.field({
      type: UserError,
      nullable: true,
      resolve: (o) =>
        o.error && {
          // A VM the actor may see but not use is refused like any other reason, per VM.
          code: o.error.code === 'FORBIDDEN' ? 'REFUSED' : o.error.code,
          field: o.error.field,
          message: o.error.message,
        },
    }),
  }),
});

const VmExecPayload = builder
  .objectRef<{ results: VmOutcome[]; userErrors: UserErrorShape[] }>('VmExecPayload')
  .implement({
    fields: (t) => ({
      results: t.field({
        type: [VmExecResultType],
        description: 'One per VM named, in order (duplicates once).',
        resolve: (p) => p.results,
      }),
      userErrors: t.field({
        type: [UserError],
        description: 'Why the request as a whole was refused (then no VM was touched).',
        resolve: (p) => p.userErrors,
      }),
    }),
  });

// The fields of a command, shared by vmExec's input and vmFilePut's `run`.
const commandFields = (t: CommandFieldBuilder) => ({
  command: t.string({
    description: 'The program: a path, or a name found on the guest PATH. No shell is involved.',
    validate: z.string().min(1).max(4096),
  }),
  args: t.stringList({ required: false }),
  env: t.stringList({ required: false, description: 'Variables to add, as NAME=value.' }),
  input: t.string({ required: false, description: "Written to the command's stdin." }),
  timeoutSeconds: t.int({
    required: false,
    description:
      "Killed after this long. Default: the controller's (10 minutes unless configured).",
    validate: z.number().int().min(1),
  }),
});

type CommandFieldBuilder = Parameters<
  NonNullable<Parameters<typeof builder.inputType>[1]['fields']>
>[0];

const ExecCommandInput = builder.inputType('ExecCommandInput', {
  description: 'A command run after a file is delivered.',
  fields: (t) => commandFields(t),
});

const VmExecInput = builder.inputType('VmExecInput', {
  fields: (t) => ({ vms: t.globalIDList({ for: VmType }), ...commandFields(t) }),
});

const VmFilePutInput = builder.inputType('VmFilePutInput', {
  fields: (t) => ({
    vms: t.globalIDList({ for: VmType }),
    path: t.string({ description: 'Where the file goes: absolute, inside an allowed directory.' }),
    content: t.string({ required: false, description: 'The file as text (UTF-8); or upload.' }),
    upload: t.field({
      type: UploadScalar,
      required: false,
      description: 'The file, sent with a GraphQL multipart request; or content.',
    }),
    mode: t.string({
      required: false,
      description: 'Permission bits, octal. Default 0644.',
      validate: z.string().regex(/^0?[0-7]{3,4}$/, 'octal permission bits, such as 0755'),
    }),
    run: t.field({
      type: ExecCommandInput,
      required: false,
      description: 'A command to run in each VM once its file is there.',
    }),
  }),
});

type CommandArgs = {
  command: string;
  args?: string[] | null;
  env?: string[] | null;
  input?: string | null;
  timeoutSeconds?: number | null;
};

function commandOf(c: CommandArgs): CommandInput {
  return {
    command: c.command,
    ...(c.args ? { args: c.args } : {}),
    ...(c.env ? { env: c.env } : {}),
    ...(c.input != null ? { input: c.input } : {}),
    ...(c.timeoutSeconds != null ? { timeoutSeconds: c.timeoutSeconds } : {}),
  };
}

builder.mutationFields((t) => ({
  vmExec: t.field({
    type: VmExecPayload,
    authScopes: { signedIn: true },
    description:
      'Run a command in several VMs at once, through each guest agent (qemu-guest-agent must run in the guest). Needs OPERATOR on each VM; a VM that is refused or not running fails alone. Follow each execution with execOutput; cancel its operation to kill it.',
    args: { input: t.arg({ type: VmExecInput }) },
    resolve: async (_r, { input }, ctx) => {
      const vms = input.vms.map((v) => v.id as VmId);
      const out = await runForPayload(() =>
        ctx.services.exec.exec(actorOf(ctx), vms, commandOf(input)),
      );
      await auditRefusal(ctx, 'vmExec', out.userErrors);
      return { results: out.result ?? [], userErrors: out.userErrors };
    },
  }),
  vmFilePut: t.field({
    type: VmExecPayload,
    authScopes: { signedIn: true },
    description:
      'Deliver a file to several VMs at once through their guest agents (whole or not at all: it is written beside the path and renamed into place), then optionally run a command there. Needs OPERATOR on each VM.',
    args: { input: t.arg({ type: VmFilePutInput }) },
    resolve: async (_r, { input }, ctx) => {
      const vms = input.vms.map((v) => v.id as VmId);
      const out = await runForPayload(async () => {
        const data = await fileData(ctx, input.content, input.upload);
        return ctx.services.exec.putFile(
          actorOf(ctx),
          vms,
          {
            path: input.path,
            data,
            ...(input.mode ? { mode: Number.parseInt(input.mode, 8) } : {}),
          },
          input.run ? commandOf(input.run) : undefined,
        );
      });
      await auditRefusal(ctx, 'vmFilePut', out.userErrors);
      return { results: out.result ?? [], userErrors: out.userErrors };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  execOutput: t.field({
    type: ExecOutputEventType,
    authScopes: { signedIn: true },
    description:
      "An execution's output: its lines (stdout and stderr, each in order), its state changes, and last its final state, then the subscription ends. After a reconnect, pass the seq of the last event seen as `after` to go on from there; output is held per execution up to a bound (1 MiB by default, older lines dropped: an ExecGap says so) and for a while after the end (1 hour by default).",
    args: {
      execution: t.arg.globalID({ for: ExecutionType, required: true }),
      after: t.arg.int({ required: false, validate: z.number().int().min(0) }),
    },
    subscribe: async (_r, args, ctx) => {
      const id = args.execution.id as ExecutionId;
      // Refused before the stream starts, so the refusal reaches the client as itself.
      await runForQuery(() => ctx.services.exec.get(actorOf(ctx), id));
      return ctx.services.exec.output(actorOf(ctx), id, args.after ?? 0);
    },
    resolve: (e) => e,
  }),
}));

// The file of a vmFilePut: its text, or the uploaded file read into memory.
async function fileData(
  ctx: KumoContext,
  content: string | null | undefined,
  upload: string | null | undefined,
): Promise<Buffer> {
  if ((content == null) === (upload == null))
    throw new ServiceError('INVALID', 'give either content or upload', 'input.content');
  if (content != null) return Buffer.from(content, 'utf8');
  const file = ctx.request.uploads.take(upload as UploadRef);
  if (!file)
    throw new ServiceError(
      'INVALID',
      'no file came with the request for this variable',
      'input.upload',
    );
  return ctx.services.exec.readUpload(file);
}

// A request refused as a whole is audited once; VMs taken on are audited one by one.
async function auditRefusal(
  ctx: KumoContext,
  action: string,
  errors: readonly UserErrorShape[],
): Promise<void> {
  const failed = errors[0];
  if (!failed) return;
  await ctx.services.audit.record({
    actor: ctx.actor,
    action,
    targetType: 'VM',
    result: 'ERROR',
    message: `${failed.code}: ${failed.message}`,
    address: ctx.request.address,
  });
}
