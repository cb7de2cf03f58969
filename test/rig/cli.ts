#!/usr/bin/env node
// The rig's command line: `node test/rig/cli.ts install | up [N] | down | status`.
import { runServiceCli } from '../support/service-cli.ts';
import { rigDown, rigInstall, rigStatus } from './index.ts';
import { rigUpDetailed } from './rig.ts';

runServiceCli({
  name: 'rig',
  usage: `usage: node test/rig/cli.ts <command>
  install   install the Debian packages the rig needs (no-op when present)
  up [N]    bring up N hosts (default 3), reusing a healthy rig; prints the descriptor
  down [--force]
            stop every process of the rig and remove its namespaces and bridge
            (refused while a test run holds the rig, unless --force)
  status    print the descriptor and each host's health
environment: KUMO_RIG_DIR (default /var/lib/kumo-rig), KUMO_RIG_SUBNET (default 10.213.0)`,
  install: rigInstall,
  down: rigDown,
  commands: {
    up: async (arg, log, elapsed) => {
      await rigInstall(log);
      const { rig, reused } = await rigUpDetailed(arg === undefined ? 3 : Number(arg));
      log(`${reused ? 'reused' : 'started'} ${rig.hosts.length} hosts (${elapsed()})`);
      process.stdout.write(`${JSON.stringify(rig, null, 2)}\n`);
      return 0;
    },
    status: async (_arg, log) => {
      const status = await rigStatus();
      if (!status) {
        log('no rig is up');
        return 1;
      }
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return status.health.every((h) => h.healthy) ? 0 : 1;
    },
  },
});
