// vitest globalSetup: one rig of real hypervisor hosts for the whole run, shared by every test
// file through `inject('rig')`. KUMO_RIG=0 skips it (unit tests only). A rig this run had to
// start is taken down at the end unless KUMO_RIG_KEEP=1 or another run still uses it; a rig
// that was already up (a person's `cli up`) is reused and left running.
//
// Also one PostgreSQL (test/pg) with a database for this run, `inject('pgUrl')`, from which
// test files make databases of their own; KUMO_PG=0 skips it (pgUrl is then null and the
// database tests run on SQLite only). The server is shared and released the same way as the rig.
//
// And one Redis (test/redis) with a logical database of this run's own, `inject('redisUrl')`;
// KUMO_REDIS=0 skips it (redisUrl is then null and the Redis tests skip).
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
import { redisAcquire, redisInstall, redisRelease, redisUrl } from './redis/index.ts';
import { type Rig, rigAcquire, rigInstall, rigRelease } from './rig/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    rig: Rig;
    /** pgUrl names this run's database on the test PostgreSQL; null when KUMO_PG=0. */
    pgUrl: string | null;
    /** redisUrl names this run's own database on the test Redis; null when KUMO_REDIS=0. */
    redisUrl: string | null;
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

async function setupRedis(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.KUMO_REDIS === '0') {
    project.provide('redisUrl', null);
    return undefined;
  }
  const started = performance.now();
  await redisInstall((line) => console.log(`redis: ${line}`));
  const lease = await redisAcquire({ keep: process.env.KUMO_REDIS_KEEP === '1' });
  project.provide('redisUrl', redisUrl(lease.server, lease.db));
  console.log(
    `redis: Redis ${lease.server.version} ready, database ${lease.db}, in ${Math.round(performance.now() - started)} ms`,
  );
  return () => redisRelease(lease);
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
  // Each part set up pushes its teardown; they run newest first, also when a later part fails.
  const downs: Array<() => Promise<void>> = [];
  const down = async () => {
    let failure: unknown = null;
    for (const step of downs.splice(0).reverse()) {
      await step().catch((err: unknown) => {
        failure ??= err;
      });
    }
    if (failure !== null) throw failure;
  };
  try {
    for (const part of [setupPg, setupRedis, setupRig]) {
      const partDown = await part(project);
      if (partDown) downs.push(partDown);
    }
  } catch (err) {
    await down().catch(() => undefined);
    throw err;
  }
  return downs.length > 0 ? down : undefined;
}
