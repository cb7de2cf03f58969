#!/usr/bin/env node
// The rig's command line: `node test/rig/cli.ts install | up [N] | down | status`.
import { rigDown, rigInstall, rigStatus } from './index.ts';
import { rigUpDetailed } from './rig.ts';

const USAGE = `usage: node test/rig/cli.ts <command>
  install   install the Debian packages the rig needs (no-op when present)
  up [N]    bring up N hosts (default 3), reusing a healthy rig; prints the descriptor
  down [--force]
            stop every process of the rig and remove its namespaces and bridge
            (refused while a test run holds the rig, unless --force)
  status    print the descriptor and each host's health
environment: KUMO_RIG_DIR (default /var/lib/kumo-rig), KUMO_RIG_SUBNET (default 10.213.0)`;

const log = (line: string) => process.stderr.write(`rig: ${line}\n`);

async function main(args: string[]): Promise<number> {
  const [command, arg] = args;
  const started = performance.now();
  const elapsed = () => `${Math.round(performance.now() - started)} ms`;
  switch (command) {
    case 'install':
      await rigInstall(log);
      log(`packages present (${elapsed()})`);
      return 0;
    case 'up': {
      await rigInstall(log);
      const { rig, reused } = await rigUpDetailed(arg === undefined ? 3 : Number(arg));
      log(`${reused ? 'reused' : 'started'} ${rig.hosts.length} hosts (${elapsed()})`);
      process.stdout.write(`${JSON.stringify(rig, null, 2)}\n`);
      return 0;
    }
    case 'down':
      await rigDown({ force: arg === '--force' });
      log(`down (${elapsed()})`);
      return 0;
    case 'status': {
      const status = await rigStatus();
      if (!status) {
        log('no rig is up');
        return 1;
      }
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return status.health.every((h) => h.healthy) ? 0 : 1;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === 'help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
