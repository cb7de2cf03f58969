#!/usr/bin/env node
// The test PostgreSQL's command line: `node test/pg/cli.ts install | up | down | status | url`.
import { pgDown, pgInstall, pgStatus, pgUpDetailed, pgUrl } from './index.ts';

const USAGE = `usage: node test/pg/cli.ts <command>
  install   install Debian's postgresql (no-op when present)
  up        start the test PostgreSQL, reusing a healthy one; prints its descriptor
  down [--force]
            stop it by pid (refused while a test run holds it, unless --force)
  status    print the descriptor and whether it is healthy
  url [DB]  print a connection URL for database DB (default postgres)
environment: KUMO_PG_DIR (default /var/lib/kumo-pg)`;

const log = (line: string) => process.stderr.write(`pg: ${line}\n`);

async function main(args: string[]): Promise<number> {
  const [command, arg] = args;
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;
  switch (command) {
    case 'install':
      await pgInstall(log);
      log(`packages present (${elapsed()})`);
      return 0;
    case 'up': {
      await pgInstall(log);
      const { server, reused } = await pgUpDetailed();
      log(
        `${reused ? 'reused' : 'started'} PostgreSQL ${server.version} on port ${server.port} (${elapsed()})`,
      );
      process.stdout.write(`${JSON.stringify({ ...server, password: '<hidden>' }, null, 2)}\n`);
      return 0;
    }
    case 'down':
      await pgDown({ force: arg === '--force' });
      log(`down (${elapsed()})`);
      return 0;
    case 'status':
    case 'url': {
      const status = await pgStatus();
      if (!status) {
        log('no test PostgreSQL was started');
        return 1;
      }
      if (command === 'url') {
        process.stdout.write(`${pgUrl(status.server, arg ?? 'postgres')}\n`);
        return status.healthy ? 0 : 1;
      }
      process.stdout.write(
        `${JSON.stringify({ ...status.server, password: '<hidden>' }, null, 2)}\n`,
      );
      log(status.healthy ? 'healthy' : 'NOT healthy');
      return status.healthy ? 0 : 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
