// The committed migrations build exactly the schema the entities describe, on each dialect
// (the check CI relies on), and the check notices when they do not.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Migration } from '@mikro-orm/migrations';
import { afterAll, describe, expect, it } from 'vitest';
import { Database, MIGRATIONS } from '../../src/db/database.ts';
import {
  fillRebuiltColumns,
  migrationDrift,
  migrationFiles,
  migrationId,
  splitStatements,
  writeMigration,
} from '../../src/db/migrations.ts';
import { DIALECTS } from '../../src/db/url.ts';
import { DIALECTS_UNDER_TEST, freshTarget, pgUrl } from './support.ts';

/** ExtraIndex stands for a migration someone wrote without changing the entities. */
class ExtraIndex extends Migration {
  override up(): void {
    this.addSql('create index users_name_extra_index on users (name)');
  }
}

describe.each(DIALECTS_UNDER_TEST)('migrations on %s', (dialect) => {
  const opts = { pgUrl: pgUrl() ?? undefined };

  it('build exactly the schema of the entities (run `node src/db/migrations-create.ts <name>` if not)', async () => {
    const drift = await migrationDrift(dialect, opts);
    expect(drift.up, `the entities need:\n${drift.up.join('\n')}`).toEqual([]);
  });

  it('are noticed when they build something the entities do not have', async () => {
    const migrations = [
      ...MIGRATIONS[dialect],
      { name: '99991231235959_extra_index', class: ExtraIndex },
    ];
    const drift = await migrationDrift(dialect, { ...opts, migrations });
    expect(drift.up.join('\n')).toMatch(/drop index .*users_name_extra_index/);
  });

  it('keep the rows of a table they add a column to (hosts gaining acceleration)', async () => {
    const target = await freshTarget(dialect);
    try {
      const all = MIGRATIONS[dialect];
      const at = all.findIndex((m) => m.name.endsWith('_host_acceleration'));
      const before = await Database.open(target.config, { migrations: all.slice(0, at) });
      await before.orm.em
        .getConnection()
        .execute(
          `insert into hosts (id, name, uri, driver, state, enabled, maintenance, cpu_overcommit, memory_overcommit, created_at, updated_at) values ('00000000-0000-4000-8000-000000000001', 'hv', 'qemu:///system', 'qemu', 'ONLINE', true, false, 2, 1, '2026-01-01', '2026-01-01')`,
        );
      await before.close();
      const after = await Database.open(target.config);
      try {
        const rows = await after.orm.em
          .getConnection()
          .execute('select name, cpu_overcommit, acceleration from hosts');
        expect(rows).toEqual([{ name: 'hv', cpu_overcommit: 2, acceleration: 'AUTO' }]);
      } finally {
        await after.close();
      }
    } finally {
      await target.cleanup();
    }
  });

  it('name the grants that exist when they start keeping resource names (permission_names)', async () => {
    const target = await freshTarget(dialect);
    try {
      const all = MIGRATIONS[dialect];
      const at = all.findIndex((m) => m.name.endsWith('_permission_names'));
      const before = await Database.open(target.config, { migrations: all.slice(0, at) });
      const user = '00000000-0000-4000-8000-000000000001';
      const vm = '00000000-0000-4000-8000-000000000002';
      const image = '00000000-0000-4000-8000-000000000003';
      const gone = '00000000-0000-4000-8000-000000000004';
      const t = "'2026-01-01'";
      for (const sql of [
        `insert into users (id, email, name, password_hash, created_at, updated_at) values ('${user}', 'a@kumo.test', 'A', 'x', ${t}, ${t})`,
        `insert into vms (id, name, owner_id, base_volume, vcpus, max_vcpus, memory_bytes, max_memory_bytes, disk_bytes, mac, domain_uuid, created_at, updated_at) values ('${vm}', 'web', '${user}', 'b', 1, 1, 1, 1, 1, '52:54:00:00:00:01', '${vm}', ${t}, ${t})`,
        `insert into images (id, name, owner_id, created_at, updated_at) values ('${image}', 'debian', '${user}', ${t}, ${t})`,
        ...[
          ['10', 'VM', vm],
          ['11', 'IMAGE', image],
          ['12', 'VM', gone],
        ].map(
          ([n, type, id]) =>
            `insert into permissions (id, user_id, resource_type, resource_id, role, created_at) values ('00000000-0000-4000-8000-0000000000${n}', '${user}', '${type}', '${id}', 'OWNER', ${t})`,
        ),
      ])
        await before.orm.em.getConnection().execute(sql);
      await before.close();
      const after = await Database.open(target.config);
      try {
        const rows = await after.orm.em
          .getConnection()
          .execute('select resource_id, resource_name from permissions order by id');
        expect(rows).toEqual([
          { resource_id: vm, resource_name: 'web' },
          { resource_id: image, resource_name: 'debian' },
          { resource_id: gone, resource_name: '' },
        ]);
      } finally {
        await after.close();
      }
    } finally {
      await target.cleanup();
    }
  });

  it('are all listed in the index, in order', () => {
    const onDisk = migrationFiles(dialect).map((f) => f.replace(/\.ts$/, ''));
    expect(MIGRATIONS[dialect].map((m) => m.name)).toEqual(onDisk);
    expect(onDisk.length).toBeGreaterThan(0);
  });
});

describe.skipIf(!pgUrl())('migrations on postgresql, for replicas', () => {
  it('are applied once when several controllers start on one database at the same time', async () => {
    const target = await freshTarget('postgresql');
    const opened: Database[] = [];
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 3 }, () => Database.open(target.config)),
      );
      for (const r of results) if (r.status === 'fulfilled') opened.push(r.value);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const applied = opened.map((d) => d.applied.length);
      expect(applied.filter((a) => a > 0)).toEqual([MIGRATIONS.postgresql.length]);
      expect(await opened[0]?.pending()).toEqual([]);
    } finally {
      for (const d of opened) await d.close();
      await target.cleanup();
    }
  });
});

describe('migration files', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('split scripts into statements, keeping `;` inside literals', () => {
    const sql =
      "create table a (x text default 'a;\nb');\n\ncreate index i on a (x);\nset names 'utf8';\n";
    expect(splitStatements(sql)).toEqual([
      "create table a (x text default 'a;\nb');",
      'create index i on a (x);',
    ]);
  });

  it('fill the columns a rebuilt SQLite table gains with their defaults, not null', () => {
    const stmts = [
      "create table `t__temp_alter` (`id` text not null primary key, `n` integer not null default 1, `s` text not null default 'a,b', `x` text null);",
      'insert into `t__temp_alter` select `id`, null as `n`, null as `s`, null as `x` from `t`;',
    ];
    expect(fillRebuiltColumns(stmts)[1]).toBe(
      "insert into `t__temp_alter` select `id`, 1 as `n`, 'a,b' as `s`, null as `x` from `t`;",
    );
  });

  it('are named by UTC time and a snake_case name', () => {
    expect(migrationId('add_vm_tags', new Date('2027-01-02T03:04:05.678Z'))).toBe(
      '20270102030405_add_vm_tags',
    );
    expect(() => migrationId('AddVmTags')).toThrow(/snake_case/);
    expect(() => migrationId('../evil')).toThrow(/snake_case/);
  });

  it('are written with an index listing them oldest first', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kumo-migrations-'));
    dirs.push(dir);
    for (const d of DIALECTS) mkdirSync(path.join(dir, d));
    writeMigration('sqlite', '20270102030405_second', { up: ['select `$x`;'], down: [] }, dir);
    const [file, index] = writeMigration(
      'sqlite',
      '20270101000000_first',
      { up: ['create table t (x int);'], down: ['drop table t;'] },
      dir,
    );
    const source = readFileSync(file as string, 'utf8');
    expect(source).toContain('export class Migration20270101000000First extends Migration');
    expect(source).toContain("override name = '20270101000000_first';");
    expect(source).toContain('this.addSql(`create table t (x int);`);');
    expect(source).toContain('this.addSql(`drop table t;`);');
    const second = readFileSync(path.join(dir, 'sqlite', '20270102030405_second.ts'), 'utf8');
    // Backticks and `$` in SQL cannot end the template literal or interpolate.
    expect(second).toContain('this.addSql(`select \\`\\$x\\`;`);');
    const list = readFileSync(index as string, 'utf8');
    expect(list.indexOf('20270101000000_first')).toBeLessThan(
      list.indexOf('20270102030405_second'),
    );
    expect(list).toContain(
      "import { Migration20270102030405Second } from './20270102030405_second.ts';",
    );
  });
});
