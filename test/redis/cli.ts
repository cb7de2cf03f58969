#!/usr/bin/env node
// The test Redis's command line: `node test/redis/cli.ts install | up | down | status | url`.
import { redisDown, redisInstall, redisStatus, redisUpDetailed, redisUrl } from './index.ts';

const USAGE = `usage: node test/redis/cli.ts <command>
  install   install Debian's redis-server (no-op when present)
  up        start the test Redis, reusing a healthy one; prints its descriptor
  down [--force]
            stop it by pid (refused while a test run holds it, unless --force)
  status    print the descriptor and whether it is healthy
  url [DB]  print a connection URL for logical database DB (default 0, which no test run uses)
environment: KUMO_REDIS_DIR (default /var/lib/kumo-redis)`;

const log = (line: string) => process.stderr.write(`redis: ${line}\n`);

async function main(args: string[]): Promise<number> {
  const [command, arg] = args;
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;
  switch (command) {
    case 'install':
      await redisInstall(log);
      log(`packages present (${elapsed()})`);
      return 0;
    case 'up': {
      await redisInstall(log);
      const { server, reused } = await redisUpDetailed();
      log(
        `${reused ? 'reused' : 'started'} Redis ${server.version} on port ${server.port} (${elapsed()})`,
      );
      process.stdout.write(`${JSON.stringify({ ...server, password: '<hidden>' }, null, 2)}\n`);
      return 0;
    }
    case 'down':
      await redisDown({ force: arg === '--force' });
      log(`down (${elapsed()})`);
      return 0;
    case 'status':
    case 'url': {
      const status = await redisStatus();
      if (!status) {
        log('no test Redis was started');
        return 1;
      }
      if (command === 'url') {
        const db = Number(arg ?? '0');
        if (!Number.isInteger(db) || db < 0 || db >= status.server.databases) {
          log(`DB must be a whole number below ${status.server.databases}`);
          return 2;
        }
        process.stdout.write(`${redisUrl(status.server, db)}\n`);
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
