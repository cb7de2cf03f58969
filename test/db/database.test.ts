// The Database class on each dialect: migrations at open, unique and foreign-key errors,
// exact byte counts beyond 2^53, transactions and request-scoped forks.
import { createHash } from 'node:crypto';
import { ref } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, MIGRATIONS } from '../../src/db/database.ts';
import { isForeignKeyViolation, isSqliteDeadlock, isUniqueViolation } from '../../src/db/errors.ts';
import { schemaDiff } from '../../src/db/migrations.ts';
import {
  Host,
  Permission,
  Quota,
  Session,
  Snapshot,
  User,
  type UserId,
  Vm,
  type VmId,
} from '../../src/entities/index.ts';
import { makeHost, makeUser, makeVm } from './fixtures.ts';
import {
  DIALECTS_UNDER_TEST,
  freshTarget,
  type Opened,
  openFresh,
  type Target,
  unique,
} from './support.ts';

function tokenHash(): string {
  return createHash('sha256').update(unique('token')).digest('hex');
}

function inAnHour(): Date {
  return new Date(Date.now() + 3600_000);
}

/** rejection awaits p and returns what it rejected with (failing when it resolved). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe.each(DIALECTS_UNDER_TEST)('Database on %s', (dialect) => {
  describe('migrations', () => {
    it('applies every migration to an empty database, and a second open applies none', async () => {
      const target = await freshTarget(dialect);
      try {
        const first = await Database.open(target.config);
        expect(first.dialect).toBe(dialect);
        expect(first.applied).toEqual(MIGRATIONS[dialect].map((m) => m.name));
        expect(await first.pending()).toEqual([]);
        expect((await schemaDiff(first)).up).toEqual([]);
        await first.close();

        const second = await Database.open(target.config);
        expect(second.applied).toEqual([]);
        expect(await second.pending()).toEqual([]);
        await second.close();
      } finally {
        await target.cleanup();
      }
    });

    it('opens without migrating when told to, and migrates later', async () => {
      const target = await freshTarget(dialect);
      try {
        const db = await Database.open(target.config, { migrate: false });
        expect(db.applied).toEqual([]);
        expect(await db.pending()).toEqual(MIGRATIONS[dialect].map((m) => m.name));
        expect(await db.migrate()).toEqual(MIGRATIONS[dialect].map((m) => m.name));
        await db.close();
      } finally {
        await target.cleanup();
      }
    });
  });

  describe('on one database', () => {
    let o: Opened;
    beforeAll(async () => {
      o = await openFresh(dialect);
    });
    afterAll(async () => {
      await o?.cleanup();
    });

    it('refuses a second user with the same email, whatever its case', async () => {
      const email = `${unique('Dup')}@Example.com`;
      const em = o.db.fork();
      makeUser(em, { email });
      await em.flush();
      const em2 = o.db.fork();
      makeUser(em2, { email: email.toUpperCase() });
      const err = await rejection(em2.flush());
      expect(isUniqueViolation(err)).toBe(true);
      // Stored and found in lower case, however it was typed.
      const found = await o.db.fork().findOneOrFail(User, { email: email.toUpperCase() });
      expect(found.email).toBe(email.toLowerCase());
    });

    it('refuses two sessions with one token hash', async () => {
      const em = o.db.fork();
      const user = makeUser(em);
      const hash = tokenHash();
      em.create(Session, { user, tokenHash: hash, expiresAt: inAnHour() });
      await em.flush();
      const em2 = o.db.fork();
      em2.create(Session, {
        user: em2.getReference(User, user.id),
        tokenHash: hash,
        expiresAt: inAnHour(),
      });
      expect(isUniqueViolation(await rejection(em2.flush()))).toBe(true);
    });

    it('refuses two hosts with one name', async () => {
      const name = unique('hv');
      const em = o.db.fork();
      makeHost(em, name);
      await em.flush();
      const em2 = o.db.fork();
      makeHost(em2, name);
      expect(isUniqueViolation(await rejection(em2.flush()))).toBe(true);
    });

    it('refuses a second permission for the same user and resource, but not another role holder', async () => {
      const em = o.db.fork();
      const alice = makeUser(em);
      const bob = makeUser(em);
      const vm = makeVm(em, alice);
      em.create(Permission, { user: alice, resourceType: 'VM', resourceId: vm.id, role: 'OWNER' });
      em.create(Permission, { user: bob, resourceType: 'VM', resourceId: vm.id, role: 'VIEWER' });
      await em.flush();
      const em2 = o.db.fork();
      em2.create(Permission, {
        user: em2.getReference(User, bob.id),
        resourceType: 'VM',
        resourceId: vm.id,
        role: 'OPERATOR',
      });
      expect(isUniqueViolation(await rejection(em2.flush()))).toBe(true);
    });

    it('refuses two snapshots of one VM with one name', async () => {
      const em = o.db.fork();
      const vm = makeVm(em, makeUser(em));
      em.create(Snapshot, { vm, name: 'before-upgrade' });
      await em.flush();
      const em2 = o.db.fork();
      em2.create(Snapshot, { vm: em2.getReference(Vm, vm.id), name: 'before-upgrade' });
      expect(isUniqueViolation(await rejection(em2.flush()))).toBe(true);
    });

    it('refuses a row that points at nothing', async () => {
      const em = o.db.fork();
      em.create(Session, {
        user: em.getReference(User, crypto.randomUUID() as UserId),
        tokenHash: tokenHash(),
        expiresAt: inAnHour(),
      });
      const err = await rejection(em.flush());
      expect(isForeignKeyViolation(err)).toBe(true);
      expect(isUniqueViolation(err)).toBe(false);
    });

    it('keeps byte counts beyond 2^53 exact', async () => {
      const huge = 2n ** 60n + 7n; // 1 EiB and 7 bytes: a Number would round the 7 away
      const justPast = 2n ** 53n + 1n;
      const em = o.db.fork();
      const user = makeUser(em);
      const vm = makeVm(em, user);
      vm.memoryBytes = justPast;
      vm.diskBytes = huge;
      em.create(Quota, { user, memoryBytes: 1n, diskBytes: huge, imageBytes: 2n ** 63n - 1n });
      await em.flush();

      const fresh = o.db.fork();
      const v = await fresh.findOneOrFail(Vm, { id: vm.id });
      expect(v.memoryBytes).toBe(justPast);
      expect(v.diskBytes).toBe(huge);
      const q = await fresh.findOneOrFail(Quota, { user: user.id });
      expect(q.memoryBytes).toBe(1n);
      expect(q.diskBytes).toBe(huge);
      expect(q.imageBytes).toBe(2n ** 63n - 1n);
      expect(q.vms).toBeNull();
      // Filters and sums compare exactly too.
      expect(await fresh.count(Vm, { id: vm.id, diskBytes: { $gt: huge - 1n } })).toBe(1);
      expect(await fresh.count(Vm, { id: vm.id, diskBytes: { $gt: huge } })).toBe(0);
    });

    it('leaves nothing behind when a transaction throws, even what it flushed', async () => {
      const email = `${unique('rollback')}@example.com`;
      const err = await rejection(
        o.db.transactional(async (em) => {
          makeUser(em, { email });
          await em.flush();
          expect(await em.count(User, { email })).toBe(1);
          throw new Error('boom');
        }),
      );
      expect((err as Error).message).toBe('boom');
      expect(await o.db.fork().count(User, { email })).toBe(0);
    });

    it('commits a transaction that returns, flushing what it made', async () => {
      const email = `${unique('commit')}@example.com`;
      const id = await o.db.transactional(async (em) => makeUser(em, { email }).id);
      const user = await o.db.fork().findOneOrFail(User, { id });
      expect(user.email).toBe(email);
    });

    it('fails fast, on SQLite, when another fork queries inside a transaction', async () => {
      const email = `${unique('inside')}@example.com`;
      const outside = o.db.fork();
      const seen = await o.db.transactional(async (em) => {
        makeUser(em, { email });
        await em.flush();
        try {
          // PostgreSQL answers from another connection, without the uncommitted row.
          return await outside.count(User, { email });
        } catch (err) {
          // SQLite has one connection, held by this transaction: waiting would never end.
          expect(isSqliteDeadlock(err)).toBe(true);
          expect((err as Error).message).toMatch(/would wait forever/);
          return 'refused';
        }
      });
      expect(seen).toBe(dialect === 'sqlite' ? 'refused' : 0);
      // The transaction still committed, and the other fork works again.
      expect(await outside.count(User, { email })).toBe(1);
    });

    it('runs concurrent transactions and queries one after another on SQLite', async () => {
      const emails = Array.from({ length: 8 }, () => `${unique('many')}@example.com`);
      await Promise.all(
        emails.map((email, i) =>
          i % 2 === 0
            ? o.db.transactional(async (em) => {
                makeUser(em, { email });
                await em.flush();
                await new Promise((r) => setTimeout(r, 5));
              })
            : (async () => {
                const em = o.db.fork();
                makeUser(em, { email });
                await em.flush();
              })(),
        ),
      );
      expect(await o.db.fork().count(User, { email: { $in: emails } })).toBe(emails.length);
    });

    it('gives each fork its own identity map', async () => {
      const em = o.db.fork();
      const user = makeUser(em);
      await em.flush();

      const a = o.db.fork();
      const b = o.db.fork();
      const inA = await a.findOneOrFail(User, { id: user.id });
      const inB = await b.findOneOrFail(User, { id: user.id });
      expect(inA).not.toBe(inB);
      // The same fork hands back the same object.
      expect(await a.findOneOrFail(User, { id: user.id })).toBe(inA);

      inA.name = 'Renamed in A';
      expect(inB.name).toBe('Test User');
      await a.flush();
      // B keeps what it loaded until it asks again.
      expect(inB.name).toBe('Test User');
      await b.refresh(inB);
      expect(inB.name).toBe('Renamed in A');
      expect(o.db.fork()).not.toBe(o.db.fork());
    });

    it('deletes a user’s sessions, permissions and quota with the user', async () => {
      const em = o.db.fork();
      const user = makeUser(em);
      em.create(Session, { user, tokenHash: tokenHash(), expiresAt: inAnHour() });
      em.create(Permission, {
        user,
        resourceType: 'IMAGE',
        resourceId: crypto.randomUUID() as VmId,
        role: 'VIEWER',
      });
      em.create(Quota, { user, vms: 3 });
      await em.flush();
      await o.db.fork().nativeDelete(User, { id: user.id });
      const fresh = o.db.fork();
      expect(await fresh.count(Session, { user: user.id })).toBe(0);
      expect(await fresh.count(Permission, { user: user.id })).toBe(0);
      expect(await fresh.count(Quota, { user: user.id })).toBe(0);
    });

    it('refuses to delete a user who owns a VM, or a host a VM is placed on', async () => {
      const em = o.db.fork();
      const user = makeUser(em);
      const host = makeHost(em);
      const vm = makeVm(em, user);
      vm.host = ref(host);
      await em.flush();
      const deleteUser = o.db.fork().nativeDelete(User, { id: user.id });
      expect(isForeignKeyViolation(await rejection(deleteUser))).toBe(true);
      const deleteHost = o.db.fork().nativeDelete(Host, { id: host.id });
      expect(isForeignKeyViolation(await rejection(deleteHost))).toBe(true);
    });
  });
});

describe('SQLite migrations that rebuild a table', () => {
  const dialect = 'sqlite';

  /** RebuildVms does what MikroORM generates for most column changes on SQLite. */
  class RebuildVms extends Migration {
    override up(): void {
      this.addSql('pragma foreign_keys = off;');
      this.addSql('create table vms__temp_alter as select * from vms;');
      // (a foreign key's parent needs a unique key; `create table as` copies none)
      this.addSql('create unique index vms_id_unique on vms__temp_alter (id);');
      this.addSql('drop table vms;');
      this.addSql('alter table vms__temp_alter rename to vms;');
      this.addSql('pragma foreign_keys = on;');
    }
  }
  /** Orphan deletes users that VMs still point at. */
  class Orphan extends Migration {
    override up(): void {
      this.addSql('delete from users;');
    }
  }

  async function seeded(): Promise<{ target: Target; vm: VmId }> {
    const target = await freshTarget(dialect);
    const db = await Database.open(target.config);
    const em = db.fork();
    const vm = makeVm(em, makeUser(em));
    em.create(Snapshot, { vm, name: 'keep-me' });
    await em.flush();
    await db.close();
    return { target, vm: vm.id };
  }

  it('keep the rows that point at the rebuilt table', async () => {
    const { target, vm } = await seeded();
    try {
      const migrations = [
        ...MIGRATIONS.sqlite,
        { name: '99990101000000_rebuild', class: RebuildVms },
      ];
      const db = await Database.open(target.config, { migrations });
      expect(db.applied).toEqual(['99990101000000_rebuild']);
      expect(await db.fork().count(Snapshot, { vm })).toBe(1);
      expect(await db.fork().count(Vm, { id: vm })).toBe(1);
      // Foreign keys are on again afterwards.
      const em = db.fork();
      em.create(Snapshot, { vm: em.getReference(Vm, crypto.randomUUID() as VmId), name: 'x' });
      expect(isForeignKeyViolation(await rejection(em.flush()))).toBe(true);
      await db.close();
    } finally {
      await target.cleanup();
    }
  });

  it('apply nothing when they would leave rows pointing at nothing', async () => {
    const { target, vm } = await seeded();
    try {
      const migrations = [...MIGRATIONS.sqlite, { name: '99990101000000_orphan', class: Orphan }];
      const err = await rejection(Database.open(target.config, { migrations }));
      expect((err as Error).message).toMatch(/pointing at nothing.*none was applied/);
      const db = await Database.open(target.config);
      expect(db.applied).toEqual([]);
      expect(await db.fork().count(User, {})).toBe(1);
      expect(await db.fork().count(Vm, { id: vm })).toBe(1);
      await db.close();
    } finally {
      await target.cleanup();
    }
  });
});
