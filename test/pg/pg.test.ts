// The test PostgreSQL's helpers: a database per test file, made and dropped by name.
import { describe, expect, inject, it } from 'vitest';
import { pgBinDir } from './packages.ts';
import { createDatabase, createTestDatabase, databaseName, withDatabase } from './pg.ts';
import { psql } from './server.ts';

const runUrl = inject('pgUrl');

describe.skipIf(runUrl === null)('test PostgreSQL', () => {
  const url = runUrl as string;

  it('makes a fresh database next to the run database, and drops it', async () => {
    const db = await createTestDatabase(url);
    expect(db.name.startsWith(`${databaseName(url)}_${process.pid}_`)).toBe(true);
    expect(await psql(pgBinDir(), db.url, 'select current_database()')).toEqual([db.name]);
    expect(
      await psql(pgBinDir(), db.url, "select count(*) from pg_tables where schemaname = 'public'"),
    ).toEqual(['0']);
    await db.drop();
    const names = await psql(pgBinDir(), url, 'select datname from pg_database');
    expect(names).not.toContain(db.name);
    await db.drop(); // dropping twice is fine
  });

  it('runs as a tuned private cluster', async () => {
    expect(await psql(pgBinDir(), url, 'show fsync')).toEqual(['off']);
    expect(await psql(pgBinDir(), url, 'show listen_addresses')).toEqual(['127.0.0.1']);
  });

  it('splices only plain names into SQL', async () => {
    await expect(createDatabase(url, 'x; drop database postgres')).rejects.toThrow(
      /unsafe database name/,
    );
    expect(() => withDatabase(url, 'Robert"); --')).toThrow(/unsafe database name/);
  });
});
