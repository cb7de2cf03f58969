import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError, EXIT_STATUS } from '../api/cli-error.ts';
import { Cli, describeError, takeGlobals } from '../cli.ts';
import { splitLine } from '../commands/parse.ts';
import { configDir } from '../config/contexts.ts';
import { makeStyle } from '../output/style.ts';
import type { Terminal } from '../terminal.ts';
import { Completer } from './completer.ts';
import { Keyboard } from './keyboard.ts';

const HISTORY_LINES = 1000;

/**
 * repl reads command lines at a `kumo>` prompt until `exit` or end of input, runs each through
 * the same Cli as one-shot use, keeps history between runs (in the config directory) and
 * completes commands and resource names with Tab. It returns the last command's status.
 */
export async function repl(cli: Cli, terminal: Terminal): Promise<number> {
  const historyFile = join(configDir(cli.session.env), 'history');
  const history = await readHistory(historyFile);
  const completer = new Completer(cli.registry, cli.session);
  // Output goes through a stream that can be muted, so a password typed at a prompt is not shown.
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, next) {
      if (!muted) terminal.output.write(chunk);
      next();
    },
  });
  const keyboard = new Keyboard(terminal.input);
  const rl = createInterface({
    input: keyboard.forReadline,
    output,
    terminal: terminal.isTTY,
    prompt: 'kumo> ',
    history,
    historySize: HISTORY_LINES,
    removeHistoryDuplicates: true,
    completer: (line: string, cb: (err: null, result: [string[], string]) => void) => {
      completer.complete(line).then(
        (r) => cb(null, r),
        () => cb(null, [[], line]),
      );
    },
  });
  // Ctrl-C at the prompt drops the line typed, as a shell does; `exit` or Ctrl-D leave.
  rl.on('SIGINT', () => {
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    output.write('^C\n');
    rl.prompt();
  });
  const asking: Terminal = {
    ...terminal,
    ask: (question, opts) => ask(rl, output, question, opts?.secret ?? false, (m) => (muted = m)),
    onInterrupt: (handler) => keyboard.onInterrupt(handler),
    rawInput: (onData) => keyboard.rawInput(onData),
  };
  const inner = new Cli(cli.registry, cli.session, asking);
  const who = cli.session.selection;
  terminal.out(
    `Kumo CLI: ${who.server} (context ${who.name})${who.token ? '' : ', not signed in: `login <email>`'}. Type help, or exit.\n`,
  );
  let status = 0;
  await mkdir(configDir(cli.session.env), { recursive: true, mode: 0o700 });
  rl.prompt();
  for await (const line of lines(rl)) {
    const trimmed = line.trim();
    if (trimmed === '') {
      rl.prompt();
      continue;
    }
    await appendFile(historyFile, `${trimmed}\n`, { mode: 0o600 });
    if (trimmed === 'exit' || trimmed === 'quit') break;
    try {
      const { globals, words } = takeGlobals(splitLine(trimmed));
      status = await inner.run(words, globals);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      terminal.err(describeError(err, makeStyle(false)));
      status = EXIT_STATUS[err.kind];
    }
    completer.forget();
    rl.prompt();
  }
  rl.close();
  keyboard.close();
  await trimHistory(historyFile);
  return status;
}

// Lines one at a time, input paused while a command runs (its prompts read their own answers).
async function* lines(rl: Interface): AsyncGenerator<string> {
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  let closed = false;
  rl.on('line', (l) => {
    queue.push(l);
    rl.pause();
    wake?.();
  });
  rl.on('close', () => {
    closed = true;
    wake?.();
  });
  for (;;) {
    const next = queue.shift();
    if (next !== undefined) {
      yield next;
      if (queue.length === 0 && !closed) rl.resume();
      continue;
    }
    if (closed) return;
    await new Promise<void>((r) => {
      wake = r;
    });
    wake = null;
  }
}

function ask(
  rl: Interface,
  output: Writable,
  question: string,
  secret: boolean,
  mute: (m: boolean) => void,
): Promise<string> {
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      mute(false);
      if (secret) output.write('\n');
      resolve(answer);
    });
    if (secret) mute(true);
  });
}

async function readHistory(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  // readline wants the newest first.
  return text.split('\n').filter(Boolean).slice(-HISTORY_LINES).reverse();
}

async function trimHistory(file: string): Promise<void> {
  const kept = (await readHistory(file)).reverse();
  await writeFile(file, kept.length ? `${kept.join('\n')}\n` : '', { mode: 0o600 });
}
