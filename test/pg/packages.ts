import { readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from '../rig/processes.ts';

/** PG_PACKAGES are the Debian packages the test PostgreSQL runs on. */
export const PG_PACKAGES = ['postgresql'] as const;

const PG_LIB = '/usr/lib/postgresql';

async function missingPackages(): Promise<string[]> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const format = '${Package} ${db:Status-Abbrev}\n';
  const out = await run('dpkg-query', ['-W', '-f', format, ...PG_PACKAGES], {
    allowFailure: true,
  });
  const installed = new Set(
    out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name),
  );
  return PG_PACKAGES.filter((p) => !installed.has(p));
}

/** pgInstall installs PostgreSQL from Debian when it is missing; a fast no-op otherwise. */
export async function pgInstall(log: (line: string) => void = () => {}): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')}`);
  await run('apt-get', ['update'], { timeoutMs: 300_000 });
  await run(
    'env',
    [
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '--no-install-recommends',
      ...missing,
    ],
    { timeoutMs: 600_000 },
  );
}

/**
 * pgBinDir is the newest installed server's bin directory (`/usr/lib/postgresql/<major>/bin`):
 * Debian keeps initdb and postgres off PATH, one directory per major version.
 */
export function pgBinDir(): string {
  let majors: number[];
  try {
    majors = readdirSync(PG_LIB)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    majors = [];
  }
  const newest = Math.max(...majors);
  if (!Number.isFinite(newest)) {
    throw new Error(`no PostgreSQL server under ${PG_LIB}; run \`node test/pg/cli.ts install\``);
  }
  return path.join(PG_LIB, String(newest), 'bin');
}
