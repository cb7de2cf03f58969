import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ensureDebianPackages } from '../support/debian.ts';

/** PG_PACKAGES are the Debian packages the test PostgreSQL runs on. */
export const PG_PACKAGES = ['postgresql'] as const;

const PG_LIB = '/usr/lib/postgresql';

/** pgInstall installs PostgreSQL from Debian when it is missing; a fast no-op otherwise. */
export function pgInstall(log: (line: string) => void = () => {}): Promise<void> {
  return ensureDebianPackages(PG_PACKAGES, log);
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
