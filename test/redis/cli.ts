#!/usr/bin/env node
// The test Redis's command line: `node test/redis/cli.ts install | up | down | status | url`.
import { runServerCli, UsageError } from '../support/service-cli.ts';
import { redisDown, redisInstall, redisStatus, redisUpDetailed, redisUrl } from './index.ts';

runServerCli({
  name: 'redis',
  title: 'Redis',
  usage: `usage: node test/redis/cli.ts <command>
  install   install Debian's redis-server (no-op when present)
  up        start the test Redis, reusing a healthy one; prints its descriptor
  down [--force]
            stop it by pid (refused while a test run holds it, unless --force)
  status    print the descriptor and whether it is healthy
  url [DB]  print a connection URL for logical database DB (default 0, which no test run uses)
environment: KUMO_REDIS_DIR (default /var/lib/kumo-redis)`,
  install: redisInstall,
  up: redisUpDetailed,
  down: redisDown,
  status: redisStatus,
  url: (server, arg) => {
    const db = Number(arg ?? '0');
    if (!Number.isInteger(db) || db < 0 || db >= server.databases) {
      throw new UsageError(`DB must be a whole number below ${server.databases}`);
    }
    return redisUrl(server, db);
  },
});
