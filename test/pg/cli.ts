#!/usr/bin/env node
// The test PostgreSQL's command line: `node test/pg/cli.ts install | up | down | status | url`.
import { runServerCli } from '../support/service-cli.ts';
import { pgDown, pgInstall, pgStatus, pgUpDetailed, pgUrl } from './index.ts';

runServerCli({
  name: 'pg',
  title: 'PostgreSQL',
  usage: `usage: node test/pg/cli.ts <command>
  install   install Debian's postgresql (no-op when present)
  up        start the test PostgreSQL, reusing a healthy one; prints its descriptor
  down [--force]
            stop it by pid (refused while a test run holds it, unless --force)
  status    print the descriptor and whether it is healthy
  url [DB]  print a connection URL for database DB (default postgres)
environment: KUMO_PG_DIR (default /var/lib/kumo-pg)`,
  install: pgInstall,
  up: pgUpDetailed,
  down: pgDown,
  status: pgStatus,
  url: (server, db) => pgUrl(server, db ?? 'postgres'),
});
