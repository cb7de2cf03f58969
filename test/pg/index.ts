/**
 * The test PostgreSQL: one private cluster (Debian's `postgresql`, run as the `postgres` user)
 * on a free port of 127.0.0.1, shared by every test run on the machine. See test/pg/README.md.
 */
export { pgBinDir, pgInstall } from './packages.ts';
export {
  createDatabase,
  createTestDatabase,
  databaseName,
  dropDatabase,
  dropRunDatabases,
  pgAcquire,
  pgDown,
  pgRelease,
  pgStatus,
  pgUpDetailed,
  RUN_PREFIX,
  runDatabaseName,
  type TestDatabase,
  withDatabase,
} from './pg.ts';
export { loadPg, type PgServer, pgUrl } from './state.ts';
