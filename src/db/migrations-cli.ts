// Shared by the migration scripts: where the PostgreSQL they need comes from.
import { parseArgs } from 'node:util';

/** PgSource is a PostgreSQL URL to make scratch databases on, and how to let go of it. */
export interface PgSource {
  readonly url: string;
  release(): Promise<void>;
}

/**
 * pgSource takes the URL from `--pg-url` or KUMO_PG_URL; without one it brings up the test
 * PostgreSQL of test/pg (installing Debian's postgresql if needed, as root), which is why a
 * development script here reaches into test/.
 */
export async function pgSource(flag: string | undefined): Promise<PgSource> {
  const given = flag ?? process.env.KUMO_PG_URL;
  if (given) return { url: given, release: async () => {} };
  const pg = await import('../../test/pg/index.ts');
  await pg.pgInstall((line) => process.stderr.write(`pg: ${line}\n`));
  const server = await pg.pgAcquire();
  return { url: pg.pgUrl(server, 'postgres'), release: () => pg.pgRelease() };
}

/** MigrationArgs are a migration script's arguments. */
export interface MigrationArgs {
  readonly name?: string;
  readonly pgUrl?: string;
  /** data are statements to run after the schema change (each valid on both dialects). */
  readonly data: readonly string[];
}

/** parseMigrationArgs reads `[name] [--pg-url URL] [--data SQL]...`. */
export function parseMigrationArgs(argv: string[]): MigrationArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { 'pg-url': { type: 'string' }, data: { type: 'string', multiple: true } },
    allowPositionals: true,
  });
  return { name: positionals[0], pgUrl: values['pg-url'], data: values.data ?? [] };
}
