import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Terminal is where a command reads answers and writes output: a TTY or pipes. */
export interface Terminal {
  readonly isTTY: boolean;
  /** columns is the terminal's width (80 when not a terminal). */
  readonly columns: number;
  out(text: string): void;
  err(text: string): void;
  /** ask asks a question and returns the answer; `secret` does not echo what is typed. */
  ask(question: string, opts?: { secret?: boolean }): Promise<string>;
  /** errIsTTY says whether stderr is a terminal (progress bars are drawn there only then). */
  readonly errIsTTY: boolean;
  /**
   * onInterrupt calls `handler` at Ctrl-C while a command runs (instead of ending the process)
   * until the returned function is called.
   */
  onInterrupt(handler: () => void): () => void;
  /**
   * rawInput hands every key typed to `onData` as it comes, unechoed and unprocessed (Ctrl-C
   * included), until the returned function gives the keyboard back.
   */
  rawInput(onData: (chunk: Buffer) => void): () => void;
  readonly input: Readable;
  readonly output: Writable;
}

/**
 * interruptible runs work with a signal that Ctrl-C aborts; the work decides what stopping
 * means (a watch ends, a wait stops waiting).
 */
export async function interruptible<T>(
  terminal: Terminal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const release = terminal.onInterrupt(() => stop.abort());
  try {
    return await work(stop.signal);
  } finally {
    release();
  }
}

/** processTerminal is the process's own stdin, stdout and stderr. */
export function processTerminal(): Terminal {
  const stdout = process.stdout;
  let piped: PipedAnswers | null = null;
  return {
    isTTY: Boolean(stdout.isTTY),
    get columns() {
      return stdout.columns || 80;
    },
    out: (t) => void stdout.write(t),
    err: (t) => void process.stderr.write(t),
    ask: (question, opts) => {
      if (process.stdin.isTTY)
        return askOnce(process.stdin, process.stderr, question, opts?.secret ?? false);
      piped ??= new PipedAnswers(process.stdin);
      return piped.ask(process.stderr, question);
    },
    errIsTTY: Boolean(process.stderr.isTTY),
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => void process.off('SIGINT', handler);
    },
    rawInput: (onData) => {
      const stdin = process.stdin;
      if (stdin.isTTY) stdin.setRawMode(true);
      stdin.on('data', onData);
      stdin.resume();
      return () => {
        stdin.off('data', onData);
        if (stdin.isTTY) stdin.setRawMode(false);
        stdin.pause();
      };
    },
    input: process.stdin,
    output: stdout,
  };
}

/**
 * PipedAnswers reads answers from piped input, one line per question, all through one reader:
 * a script's answers arrive together, and a reader per question would drop those after the
 * first.
 */
class PipedAnswers {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | null = null;
  private ended = false;
  private readonly rl: Interface;

  constructor(input: Readable) {
    const rl = createInterface({ input, terminal: false });
    this.rl = rl;
    rl.on('line', (line) => {
      if (this.waiting) this.take(line);
      else this.lines.push(line);
    });
    rl.once('close', () => {
      this.ended = true;
      this.take('');
    });
  }

  ask(output: Writable, question: string): Promise<string> {
    output.write(question);
    const next = this.lines.shift();
    if (next !== undefined || this.ended) return Promise.resolve(next ?? '');
    if (!this.ended) this.rl.resume();
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  // Paused between questions, so an open pipe does not keep the process from ending.
  private take(line: string): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (!this.ended) this.rl.pause();
    waiting?.(line);
  }
}

// Reads one line from a terminal; a secret is read with the terminal's echo off (raw mode), as
// passwords are.
async function askOnce(
  input: NodeJS.ReadStream,
  output: Writable,
  question: string,
  secret: boolean,
): Promise<string> {
  if (secret) {
    output.write(question);
    input.setRawMode(true);
    input.resume();
    try {
      return await new Promise<string>((resolve, reject) => {
        let typed = '';
        const onData = (chunk: Buffer) => {
          for (const ch of chunk.toString('utf8')) {
            if (ch === '\r' || ch === '\n') {
              input.off('data', onData);
              output.write('\n');
              resolve(typed);
              return;
            }
            if (ch === '\u0003') {
              input.off('data', onData);
              reject(new Error('interrupted'));
              return;
            }
            typed = ch === '\u007f' ? typed.slice(0, -1) : typed + ch;
          }
        };
        input.on('data', onData);
      });
    } finally {
      input.setRawMode(false);
      input.pause();
    }
  }
  const rl = createInterface({ input, output, terminal: false });
  try {
    output.write(question);
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return line;
  } finally {
    rl.close();
  }
}
