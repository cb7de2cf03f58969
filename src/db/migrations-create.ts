#!/usr/bin/env node
// `node src/db/migrations-create.ts <name> [--pg-url URL] [--data SQL]...`: diffs the entities
// against a scratch database of each dialect with every committed migration applied, and writes
// the difference as a new migration per dialect (src/db/migrations/<dialect>/<timestamp>_<name>.ts)
// plus that dialect's index.ts. Nothing is written when the entities and migrations agree.
// `--data` adds a statement after the schema change (filling a new column from others),
// written in SQL both dialects run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { migrationId, settledDrift, writeMigration } from './migrations.ts';
import { parseMigrationArgs, pgSource } from './migrations-cli.ts';
import { DIALECTS } from './url.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function main(): Promise<number> {
  const args = parseMigrationArgs(process.argv.slice(2));
  if (!args.name) {
    process.stderr.write(
      'usage: node src/db/migrations-create.ts <snake_case_name> [--pg-url URL] [--data SQL]...\n',
    );
    return 2;
  }
  const id = migrationId(args.name);
  const pg = await pgSource(args.pgUrl);
  const written: string[] = [];
  try {
    for (const dialect of DIALECTS) {
      const diff = await settledDrift(dialect, { pgUrl: pg.url });
      if (diff.up.length === 0) {
        process.stderr.write(`${dialect}: the migrations match the entities; nothing to add\n`);
        continue;
      }
      written.push(...writeMigration(dialect, id, { ...diff, up: [...diff.up, ...args.data] }));
      process.stderr.write(`${dialect}: ${diff.up.length} statements in ${id}.ts\n`);
    }
  } finally {
    await pg.release();
  }
  // Generated code is formatted like the rest of the tree, so the lint stays clean.
  const biome = path.join(ROOT, 'node_modules/.bin/biome');
  if (written.length > 0 && existsSync(biome)) {
    spawnSync(biome, ['format', '--write', ...written], { stdio: 'inherit', cwd: ROOT });
  }
  for (const file of written) process.stdout.write(`${path.relative(ROOT, file)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
