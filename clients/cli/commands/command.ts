import type { Api } from '../api/api.ts';
import type { Session } from '../config/session.ts';
import type { Output } from '../output/output.ts';
import type { OutputMode } from '../output/render.ts';
import type { Style } from '../output/style.ts';
import type { Terminal } from '../terminal.ts';

/** Completion names what the REPL offers for an argument: resources from the server, or files. */
export type Completion = 'vm' | 'image' | 'host' | 'user' | 'operation' | 'context' | 'file';

/** ArgSpec is a positional argument. */
export interface ArgSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  /** variadic takes every remaining word (last argument only). */
  readonly variadic?: boolean;
  readonly complete?: Completion;
}

/** OptionSpec is a `--name` option: a flag, or with `value` one that takes a value. */
export interface OptionSpec {
  readonly name: string;
  readonly description: string;
  /** value names the option's value in help (`--mem <size>`); absent: a flag. */
  readonly value?: string;
  /** multiple lets the option repeat (`--ssh-key a --ssh-key b`). */
  readonly multiple?: boolean;
  readonly complete?: Completion;
}

/** Input is a command's parsed words and options. */
export interface Input {
  /** arg is a required argument's value. */
  arg(name: string): string;
  optionalArg(name: string): string | undefined;
  /** rest is a variadic argument's words. */
  rest(name: string): readonly string[];
  option(name: string): string | undefined;
  options(name: string): readonly string[];
  flag(name: string): boolean;
  /** trailing is the words after `--` of a command that takes them; null without a `--`. */
  trailing(): readonly string[] | null;
}

/** CommandContext is what a command runs with: the server, the terminal and the output mode. */
export interface CommandContext {
  readonly session: Session;
  /** api is the signed-in server; it throws AUTH when nobody is signed in. */
  api(): Api;
  readonly terminal: Terminal;
  readonly style: Style;
  readonly mode: OutputMode;
  /** wait says whether long operations are waited for (false with --no-wait). */
  readonly wait: boolean;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * CommandSpec is one command, defined once for both the REPL and one-shot use: its words
 * (`vm add`), arguments, options, help, and what it does.
 */
export interface CommandSpec {
  readonly words: readonly [string, ...string[]];
  /** aliases are other last words for it (`user ls` for `user list`). */
  readonly aliases?: readonly string[];
  readonly summary: string;
  readonly args?: readonly ArgSpec[];
  readonly options?: readonly OptionSpec[];
  /** trailing names what the words after `--` are (a command to run), for commands taking them. */
  readonly trailing?: { readonly name: string; readonly description: string };
  run(ctx: CommandContext, input: Input): Promise<Output>;
}
