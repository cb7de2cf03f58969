import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { graphql, type ResultOf } from '../../graphql/graphql.ts';
import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { bytes, parseDuration } from '../output/format.ts';
import { NONE, type Output, table } from '../output/output.ts';
import { readText } from '../resources/files.ts';
import { shortId } from '../resources/ids.ts';
import { resolveRefs } from '../resources/refs.ts';
import { interruptible } from '../terminal.ts';
import type { CommandContext, CommandSpec, Input, OptionSpec } from './command.ts';

const EXEC = graphql(`mutation VmExec($input: VmExecInput!) { vmExec(input: $input) {
  results { vm execution { id operation { id } } error { code message } }
  userErrors { code field message } } }`);
const PUT = graphql(`mutation VmFilePut($input: VmFilePutInput!) { vmFilePut(input: $input) {
  results { vm execution { id operation { id } } error { code message } }
  userErrors { code field message } } }`);
const OUTPUT = graphql(`subscription ExecOutput($execution: ID!, $after: Int) {
  execOutput(execution: $execution, after: $after) {
    __typename
    ... on ExecLine { seq stream text }
    ... on ExecStateChange { seq state exitCode signal error }
    ... on ExecGap { seq missed } } }`);
const CANCEL = graphql(`mutation ExecCancel($input: OperationCancelInput!) {
  operationCancel(input: $input) { operation { status } userErrors { code field message } } }`);

type Result = ResultOf<typeof EXEC>['vmExec']['results'][number];
type Event = ResultOf<typeof OUTPUT>['execOutput'];
type End = Extract<Event, { __typename: 'ExecStateChange' }>;

const FINAL = new Set(['FINISHED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);
// A follower whose connection drops comes back this many times, from the last event it saw.
const RECONNECTS = 5;

const COMMAND_OPTIONS: readonly OptionSpec[] = [
  { name: 'env', value: 'NAME=value', description: 'Add a variable (repeatable)', multiple: true },
  { name: 'timeout', value: 'duration', description: 'Kill the command after this long (10m)' },
  { name: 'input', value: 'file', description: "Send a file's text to the command's stdin" },
];

/** The commands that run commands and deliver files in many VMs at once, output streamed. */
export const vmExecCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'exec'],
    summary:
      'Run a command in several VMs at once through their guest agents; each line comes prefixed with its VM (stderr to stderr). Ctrl-C kills the commands.',
    args: [{ name: 'vm', description: 'Names or ids', variadic: true, complete: 'vm' }],
    options: COMMAND_OPTIONS,
    trailing: { name: 'command', description: 'The program and its arguments (no shell)' },
    async run(ctx, input) {
      const [command, ...args] = input.trailing() ?? [];
      const names = input.rest('vm');
      if (!command || names.length === 0)
        throw new CliError('USAGE', 'name the VMs, then the command after --', {
          hint: 'e.g. kumo vm exec web1 web2 -- uptime',
        });
      const api = ctx.api();
      const vms = await resolveRefs(api, 'vm', names);
      const out = await api.mutate(
        EXEC,
        { input: { vms, command, args, ...(await commandOptions(input)) } },
        'vmExec',
      );
      return follow(ctx, api, names, out.results, null);
    },
  },
  {
    words: ['vm', 'cp'],
    summary:
      'Deliver a file to several VMs at once (`kumo vm cp app.sh web1 web2:/opt/app.sh`), whole or not at all; after --, a command to run there once it has arrived.',
    args: [
      { name: 'file', description: 'The file to send', complete: 'file' },
      { name: 'target', description: 'VMs, the last as vm:/path', variadic: true, complete: 'vm' },
    ],
    options: [
      { name: 'mode', value: 'octal', description: 'Permission bits (0644)' },
      ...COMMAND_OPTIONS,
    ],
    trailing: { name: 'command', description: 'A program to run after the file arrived' },
    async run(ctx, input) {
      const path = input.arg('file');
      const targets = [...input.rest('target')];
      const lastTarget = targets.pop() ?? '';
      const colon = lastTarget.indexOf(':');
      if (colon <= 0 || colon === lastTarget.length - 1)
        throw new CliError('USAGE', 'say where the file goes as <vm>:<path>, last', {
          hint: 'e.g. kumo vm cp app.sh web1 web2:/opt/app.sh',
        });
      const names = [...targets, lastTarget.slice(0, colon)];
      const size = await stat(path).then(
        (s) => s.size,
        () => {
          throw new CliError('USAGE', `cannot read ${path}`);
        },
      );
      const [command, ...args] = input.trailing() ?? [];
      const api = ctx.api();
      const vms = await resolveRefs(api, 'vm', names);
      const out = await api.upload(
        PUT,
        {
          input: {
            vms,
            path: lastTarget.slice(colon + 1),
            upload: null as never,
            mode: input.option('mode') ?? null,
            run: command ? { command, args, ...(await commandOptions(input)) } : null,
          },
        },
        'vmFilePut',
        'input.upload',
        { path, name: basename(path) },
        () => undefined,
      );
      return follow(
        ctx,
        api,
        names,
        out.results,
        `${lastTarget.slice(colon + 1)} (${bytes(size)})`,
      );
    },
  },
];

async function commandOptions(input: Input) {
  const timeout = input.option('timeout');
  const file = input.option('input');
  return {
    env: [...input.options('env')],
    timeoutSeconds: timeout ? Math.max(1, Math.round(parseDuration(timeout) / 1000)) : null,
    input: file ? await readText(file) : null,
  };
}

/**
 * follow prints every execution's output as it comes, prefixed with its VM when there are
 * several, and how each ended that did not succeed; it fails (status 1) unless all did.
 * Ctrl-C cancels the executions (killing the commands) and waits for them to end.
 */
async function follow(
  ctx: CommandContext,
  api: Api,
  names: readonly string[],
  results: readonly Result[],
  delivered: string | null,
): Promise<Output> {
  const width = Math.max(...names.map((n) => n.length));
  const label = (i: number) => (names.length > 1 ? `${(names[i] ?? '').padEnd(width)}: ` : '');
  const { terminal, style } = ctx;
  let failed = 0;
  results.forEach((r, i) => {
    if (!r.error) return;
    failed++;
    terminal.err(`${label(i) || `${names[i]}: `}${style.dim('refused:')} ${r.error.message}\n`);
  });
  if (!ctx.wait)
    return table(
      [
        { key: 'vm', header: 'VM' },
        { key: 'id', header: 'Execution', format: (v) => shortId(String(v)) },
      ],
      results.flatMap((r, i) => (r.execution ? [{ id: r.execution.id, vm: names[i] ?? '' }] : [])),
    );
  let interrupted = false;
  const ends = await interruptible(terminal, async (signal) => {
    signal.addEventListener(
      'abort',
      () => {
        interrupted = true;
        terminal.err('cancelling: the commands are killed\n');
        for (const r of results)
          if (r.execution)
            void api
              .mutate(CANCEL, { input: { id: r.execution.operation.id } }, 'operationCancel')
              .catch(() => undefined);
      },
      { once: true },
    );
    return Promise.all(
      results.map(async (r, i): Promise<End | null> => {
        if (!r.execution) return null;
        const id = r.execution.id;
        return followOne(api, id, (e) => {
          if (ctx.mode === 'json') {
            terminal.out(`${JSON.stringify({ vm: names[i], execution: id, ...e })}\n`);
          } else if (e.__typename === 'ExecLine') {
            const line = `${style.dim(label(i))}${e.text}\n`;
            if (e.stream === 'STDOUT') terminal.out(line);
            else terminal.err(line);
          } else if (e.__typename === 'ExecGap') {
            terminal.err(
              `${label(i)}${style.dim(`(${e.missed ?? 'some'} lines no longer held)`)}\n`,
            );
          }
        });
      }),
    );
  });
  for (const [i, end] of ends.entries()) {
    if (!end) continue;
    const ok = end.state === 'FINISHED' && end.signal === null && (end.exitCode ?? 0) === 0;
    if (!ok) failed++;
    if (ctx.mode !== 'human') continue;
    const who = names.length > 1 ? label(i) : `${names[i]}: `;
    if (ok && delivered && end.exitCode === null) terminal.err(`${who}delivered ${delivered}\n`);
    else if (!ok) terminal.err(`${who}${style.state(end.state)} ${endText(end)}\n`);
  }
  if (interrupted) throw new CliError('INTERRUPTED', 'cancelled; the commands were killed');
  if (failed > 0)
    throw new CliError(
      'REFUSED',
      `${failed} of ${names.length} VM${names.length === 1 ? '' : 's'} did not succeed`,
    );
  return NONE;
}

// Follows one execution to its end, reconnecting from the last event seen if the link drops.
async function followOne(api: Api, id: string, print: (e: Event) => void): Promise<End> {
  let after = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      for await (const { execOutput: e } of api.subscribe(OUTPUT, { execution: id, after })) {
        after = Math.max(after, e.seq);
        print(e);
        if (e.__typename === 'ExecStateChange' && FINAL.has(e.state)) return e;
      }
      if (attempt >= RECONNECTS) throw new CliError('REFUSED', `the output of ${id} ended early`);
    } catch (err) {
      if (!(err instanceof CliError) || err.kind !== 'NETWORK' || attempt >= RECONNECTS) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function endText(end: End): string {
  if (end.state === 'TIMED_OUT') return 'ran out of time and was killed';
  if (end.state === 'CANCELLED') return 'was cancelled and killed';
  if (end.error) return end.error;
  if (end.signal !== null) return `killed by signal ${end.signal}`;
  if (end.exitCode !== null) return `exited with status ${end.exitCode}`;
  return '';
}
