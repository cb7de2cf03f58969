// vitest globalSetup: one rig of real hypervisor hosts for the whole run, shared by every test
// file through `inject('rig')`. KUMO_RIG=0 skips it (unit tests only). A rig this run had to
// start is taken down at the end unless KUMO_RIG_KEEP=1 or another run still uses it; a rig
// that was already up (a person's `cli up`) is reused and left running.
//
// Also one PostgreSQL (test/pg) with a database for this run, `inject('pgUrl')`, from which
// test files make databases of their own; KUMO_PG=0 skips it (pgUrl is then null and the
// database tests run on SQLite only). The server is shared and released the same way as the rig.
import type { TestProject } from 'vitest/node';
import {
  createDatabase,
  dropRunDatabases,
  pgAcquire,
  pgInstall,
  pgRelease,
  pgUrl,
  runDatabaseName,
} from './pg/index.ts';
import { type Rig, rigAcquire, rigInstall, rigRelease } from './rig/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    rig: Rig;
    /** pgUrl names this run's database on the test PostgreSQL; null when KUMO_PG=0. */
    pgUrl: string | null;
  }
}

async function setupPg(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.KUMO_PG === '0') {
    project.provide('pgUrl', null);
    return undefined;
  }
  const started = performance.now();
  await pgInstall((line) => console.log(`pg: ${line}`));
  const server = await pgAcquire({ keep: process.env.KUMO_PG_KEEP === '1' });
  try {
    // Databases of runs that died without cleaning up (their pid is gone) go first.
    await dropRunDatabases(server);
    const name = runDatabaseName();
    await createDatabase(pgUrl(server, 'postgres'), name);
    project.provide('pgUrl', pgUrl(server, name));
  } catch (err) {
    await pgRelease();
    throw err;
  }
  console.log(
    `pg: PostgreSQL ${server.version} ready in ${Math.round(performance.now() - started)} ms`,
  );
  return async () => {
    try {
      await dropRunDatabases(server, process.pid);
    } finally {
      await pgRelease();
    }
  };
}

async function setupRig(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.KUMO_RIG === '0') return undefined;
  await rigInstall((line) => console.log(`rig: ${line}`));
  const rig = await rigAcquire(4, { keep: process.env.KUMO_RIG_KEEP === '1' });
  project.provide('rig', rig);
  return () => rigRelease();
}

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  const pgDown = await setupPg(project);
  let rigDown: (() => Promise<void>) | undefined;
  try {
    rigDown = await setupRig(project);
  } catch (err) {
    await pgDown?.();
    throw err;
  }
  if (!pgDown && !rigDown) return undefined;
  return async () => {
    try {
      await rigDown?.();
    } finally {
      await pgDown?.();
    }
  };
}
