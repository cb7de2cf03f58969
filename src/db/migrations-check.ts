#!/usr/bin/env node
// `node src/db/migrations-check.ts [--pg-url URL]`: exits 1, printing the missing SQL, when
// the entities differ from what the committed migrations build (on SQLite or PostgreSQL).
// test/db/migrations.test.ts runs the same check in the test suite.
import { migrationDrift } from './migrations.ts';
import { parseMigrationArgs, pgSource } from './migrations-cli.ts';
import { DIALECTS } from './url.ts';

async function main(): Promise<number> {
  const args = parseMigrationArgs(process.argv.slice(2));
  const pg = await pgSource(args.pgUrl);
  let stale = 0;
  try {
    for (const dialect of DIALECTS) {
      const diff = await migrationDrift(dialect, { pgUrl: pg.url });
      if (diff.up.length === 0) {
        process.stderr.write(`${dialect}: migrations up to date\n`);
        continue;
      }
      stale++;
      process.stderr.write(
        `${dialect}: the entities need SQL no migration has:\n${diff.up.map((s) => `  ${s}`).join('\n')}\n`,
      );
    }
  } finally {
    await pg.release();
  }
  if (stale > 0) {
    process.stderr.write('run `node src/db/migrations-create.ts <name>` and commit the result\n');
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
