// The command line of a test service (the rig, the test PostgreSQL, the test Redis). What it
// says to a person goes to stderr under the service's name; stdout carries only what scripts
// read (a descriptor, a URL).

/** Log writes one line for a person. */
export type Log = (line: string) => void;

/** Command runs one command with its argument; elapsed is the time since the start, in words. */
export type Command = (arg: string | undefined, log: Log, elapsed: () => string) => Promise<number>;

/** UsageError refuses a command's argument: its message is logged and the exit code is 2. */
export class UsageError extends Error {}

/** ServiceCli is a service's command line: install and down, which every service has, and more. */
export interface ServiceCli {
  /** name starts every line logged (`pg: ...`). */
  readonly name: string;
  /** usage is printed for `help`, for no command and for an unknown one. */
  readonly usage: string;
  install(log: Log): Promise<void>;
  /** down stops the service; force stops it even while a test run holds it. */
  down(opts: { force: boolean }): Promise<void>;
  /** commands are the service's other commands by name (`up`, `status`, ...). */
  readonly commands: Readonly<Record<string, Command>>;
}

/** runServiceCli runs the command process.argv names and exits with its code. */
export function runServiceCli(cli: ServiceCli): void {
  const log: Log = (line) => process.stderr.write(`${cli.name}: ${line}\n`);
  main(cli, log, process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}

async function main(cli: ServiceCli, log: Log, [command, arg]: string[]): Promise<number> {
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;
  if (command === 'install') {
    await cli.install(log);
    log(`packages present (${elapsed()})`);
    return 0;
  }
  if (command === 'down') {
    await cli.down({ force: arg === '--force' });
    log(`down (${elapsed()})`);
    return 0;
  }
  // Own properties only: `toString` is no command.
  const run =
    command !== undefined && Object.hasOwn(cli.commands, command)
      ? cli.commands[command]
      : undefined;
  if (run) return run(arg, log, elapsed);
  process.stderr.write(`${cli.usage}\n`);
  return command === undefined || command === 'help' ? 0 : 2;
}

/** ServerDescriptor is what the command line reads in a test server's descriptor. */
interface ServerDescriptor {
  readonly version: string;
  readonly port: number;
  readonly password: string;
}

/** ServerCli is the command line of a test server (PostgreSQL, Redis): up, status and url too. */
export interface ServerCli<S extends ServerDescriptor> extends Omit<ServiceCli, 'commands'> {
  /** title names the server in lines logged (`started PostgreSQL 15 on port ...`). */
  readonly title: string;
  up(): Promise<{ server: S; reused: boolean }>;
  status(): Promise<{ server: S; healthy: boolean } | null>;
  /** url is a connection URL for database arg (a default without it); UsageError for a bad one. */
  url(server: S, arg: string | undefined): string;
}

/** runServerCli runs the command line of a test server: install, up, down, status and url. */
export function runServerCli<S extends ServerDescriptor>(cli: ServerCli<S>): void {
  // The password stays in the root-only state file; `url` is how a person gets it.
  const print = (server: S) =>
    process.stdout.write(`${JSON.stringify({ ...server, password: '<hidden>' }, null, 2)}\n`);
  // status and url need a server that was started, and succeed only while it is healthy.
  const withStatus =
    (show: (server: S, healthy: boolean, arg: string | undefined, log: Log) => void): Command =>
    async (arg, log) => {
      const status = await cli.status();
      if (!status) {
        log(`no test ${cli.title} was started`);
        return 1;
      }
      show(status.server, status.healthy, arg, log);
      return status.healthy ? 0 : 1;
    };
  runServiceCli({
    name: cli.name,
    usage: cli.usage,
    install: cli.install,
    down: cli.down,
    commands: {
      up: async (_arg, log, elapsed) => {
        await cli.install(log);
        const { server, reused } = await cli.up();
        log(
          `${reused ? 'reused' : 'started'} ${cli.title} ${server.version} on port ${server.port} (${elapsed()})`,
        );
        print(server);
        return 0;
      },
      status: withStatus((server, healthy, _arg, log) => {
        print(server);
        log(healthy ? 'healthy' : 'NOT healthy');
      }),
      url: withStatus((server, _healthy, arg) => {
        process.stdout.write(`${cli.url(server, arg)}\n`);
      }),
    },
  });
}
