// The `kumo` command: with no command, the REPL; otherwise one command, its exit status the
// process's (0 done, 1 refused or failed, 2 usage, 3 server unreachable, 4 not signed in or not
// allowed, 5 not found).
import { CliError, EXIT_STATUS } from './api/cli-error.ts';
import { Cli, describeError, takeGlobals } from './cli.ts';
import { registry } from './commands/index.ts';
import { Session } from './config/session.ts';
import { makeStyle } from './output/style.ts';
import { repl } from './repl/repl.ts';
import { processTerminal } from './terminal.ts';

async function main(argv: readonly string[]): Promise<number> {
  const terminal = processTerminal();
  try {
    const { globals, words } = takeGlobals(argv);
    const session = await Session.open(process.env, globals);
    const cli = new Cli(registry, session, terminal);
    if (words.length === 0 && !globals.help) return await repl(cli, terminal);
    return await cli.run(words, globals);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    terminal.err(describeError(err, makeStyle(false)));
    return EXIT_STATUS[err.kind];
  }
}

process.exitCode = await main(process.argv.slice(2));
