import { CliError, EXIT_STATUS } from './api/cli-error.ts';
import type { CommandContext } from './commands/command.ts';
import { parseInput } from './commands/parse.ts';
import type { Registry } from './commands/registry.ts';
import type { Session } from './config/session.ts';
import { render } from './output/render.ts';
import { makeStyle, type Style, useColor } from './output/style.ts';
import type { Terminal } from './terminal.ts';

/** Globals are the options every command takes, wherever they stand on the line. */
export interface Globals {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly context?: string | undefined;
  readonly server?: string | undefined;
  readonly wait: boolean;
  readonly noColor: boolean;
  readonly help: boolean;
}

const FLAGS: Record<string, keyof Globals> = {
  '--json': 'json',
  '--quiet': 'quiet',
  '-q': 'quiet',
  '--no-wait': 'wait',
  '--no-color': 'noColor',
  '--help': 'help',
  '-h': 'help',
};

/** takeGlobals separates the global options from a command's own words. */
export function takeGlobals(words: readonly string[]): { globals: Globals; words: string[] } {
  const g: { -readonly [K in keyof Globals]: Globals[K] } = {
    json: false,
    quiet: false,
    wait: true,
    noColor: false,
    help: false,
  };
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--') {
      rest.push(...words.slice(i));
      break;
    }
    const flag = FLAGS[w];
    const [key, inline] = w.startsWith('--')
      ? [w.split('=')[0], w.split('=').slice(1).join('=')]
      : [w, ''];
    if (flag === 'wait') g.wait = false;
    else if (flag) g[flag as 'json' | 'quiet' | 'noColor' | 'help'] = true;
    else if (key === '--context' || key === '--server') {
      const value = inline || words[++i];
      if (!value) throw new CliError('USAGE', `${key} needs a value`);
      g[key.slice(2) as 'context' | 'server'] = value;
    } else rest.push(w);
  }
  if (g.json && g.quiet) throw new CliError('USAGE', 'give --json or --quiet, not both');
  return { globals: g, words: rest };
}

/**
 * Cli runs command lines, the same way for one-shot use and the REPL: finds the command, parses
 * its input, runs it, prints its output in the mode asked, and turns failures into a message on
 * stderr and an exit status.
 */
export class Cli {
  readonly registry: Registry;
  readonly session: Session;
  readonly terminal: Terminal;

  constructor(registry: Registry, session: Session, terminal: Terminal) {
    this.registry = registry;
    this.session = session;
    this.terminal = terminal;
  }

  /** run runs one command line and returns its exit status. */
  async run(words: readonly string[], globals: Globals): Promise<number> {
    const style = makeStyle(useColor(this.terminal.isTTY, this.session.env, globals.noColor));
    try {
      if (words[0] === 'help' || globals.help) {
        this.terminal.out(`${this.help(words[0] === 'help' ? words.slice(1) : words)}\n`);
        return 0;
      }
      const found = this.registry.find(words);
      if (!found)
        throw new CliError('USAGE', `unknown command: ${words.join(' ')}`, {
          hint: 'see `help` for the commands',
        });
      const input = parseInput(found.spec, found.rest);
      const ctx: CommandContext = {
        session: this.session,
        api: () => this.session.api(),
        terminal: this.terminal,
        style,
        mode: globals.json ? 'json' : globals.quiet ? 'quiet' : 'human',
        wait: globals.wait,
        env: this.session.env,
      };
      this.terminal.out(render(await found.spec.run(ctx, input), ctx.mode, style));
      return 0;
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      this.terminal.err(describeError(err, style));
      return EXIT_STATUS[err.kind];
    }
  }

  private help(words: readonly string[]): string {
    if (words.length === 0) return this.registry.overview();
    const found = this.registry.find(words);
    if (found) return this.registry.describe(found.spec);
    const noun = this.registry.specs.filter((s) => s.words[0] === words[0]);
    if (noun.length === 0)
      throw new CliError('USAGE', `no command ${words.join(' ')}`, { hint: 'see `help`' });
    return noun.map((s) => this.registry.describe(s)).join('\n\n');
  }
}

/** describeError is how a failure is told on stderr: the message, the field, what to do. */
export function describeError(err: CliError, style: Style): string {
  const lines = [`${style.red('error:')} ${err.message}`];
  if (err.field) lines.push(`  field: ${err.field}`);
  if (err.hint) lines.push(`  ${err.hint}`);
  return `${lines.join('\n')}\n`;
}
