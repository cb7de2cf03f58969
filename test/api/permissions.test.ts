import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { Database } from '../../src/db/database.ts';
import type { SessionId, UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { Vm } from '../../src/entities/vm.ts';
import type { Actor } from '../../src/services/actor.ts';
import {
  type NamedResource,
  PermissionService,
} from '../../src/services/permissions/permission-service.ts';
import { makeVm } from '../db/fixtures.ts';

describe('permissions', () => {
  let dir: string;
  let db: Database;
  const actors: Record<string, Actor> = {};
  let vm: NamedResource;
  let other: NamedResource;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-perm-'));
    db = await Database.open(loadConfig({ env: {}, overrides: { dataDir: dir } }));
    const em = db.fork();
    for (const name of ['owner', 'operator', 'viewer', 'outsider', 'admin']) {
      const u = em.create(User, {
        email: `${name}@kumo.test`,
        name,
        passwordHash: 'x',
        isAdmin: name === 'admin',
      });
      actors[name] = {
        userId: u.id,
        sessionId: 's' as SessionId,
        isAdmin: name === 'admin',
        address: '127.0.0.1',
      };
    }
    const perms = new PermissionService(em);
    const mk = (owner: UserId) => {
      const v = makeVm(em, em.getReference(User, owner), { name: 'vm' });
      const r = { type: 'VM' as const, id: v.id, name: v.name };
      perms.grantOwner(owner, r);
      return r;
    };
    vm = mk(actors.owner?.userId as UserId);
    other = mk(actors.outsider?.userId as UserId);
    await em.flush();
    const sharing = new PermissionService(db.fork());
    await sharing.share(actors.owner as Actor, vm, actors.operator?.userId as UserId, 'OPERATOR');
    await sharing.share(actors.owner as Actor, vm, actors.viewer?.userId as UserId, 'VIEWER');
  });
  afterAll(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grants by role, everything to admins, and hides the resource from outsiders', async () => {
    const p = new PermissionService(db.fork());
    const table: Record<string, [boolean, boolean, boolean]> = {};
    for (const [name, actor] of Object.entries(actors)) {
      table[name] = [
        await p.can(actor, vm, 'view'),
        await p.can(actor, vm, 'use'),
        await p.can(actor, vm, 'manage'),
      ];
    }
    expect(table).toEqual({
      owner: [true, true, true],
      operator: [true, true, false],
      viewer: [true, false, false],
      outsider: [false, false, false],
      admin: [true, true, true],
    });
    await expect(p.require(actors.outsider as Actor, vm, 'view')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(p.require(actors.viewer as Actor, vm, 'use')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(p.require(actors.operator as Actor, vm, 'use')).resolves.toBeUndefined();
  });

  it('lets only owners share, and always keeps an owner', async () => {
    const p = new PermissionService(db.fork());
    await expect(
      p.share(actors.operator as Actor, vm, actors.outsider?.userId as UserId, 'VIEWER'),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(
      p.unshare(actors.owner as Actor, vm, actors.owner?.userId as UserId),
    ).rejects.toMatchObject({ code: 'REFUSED' });
    await expect(
      p.share(actors.owner as Actor, vm, actors.owner?.userId as UserId, 'VIEWER'),
    ).rejects.toMatchObject({ code: 'REFUSED' });
    await expect(
      p.share(
        actors.owner as Actor,
        vm,
        'ffffffff-ffff-4fff-8fff-ffffffffffff' as UserId,
        'VIEWER',
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const shares = await p.shares(actors.owner as Actor, vm);
    expect(shares.map((s) => [s.user.email, s.role])).toEqual([
      ['owner@kumo.test', 'OWNER'],
      ['operator@kumo.test', 'OPERATOR'],
      ['viewer@kumo.test', 'VIEWER'],
    ]);
  });

  it('batches the role look-ups of one request into one query', async () => {
    const em = db.fork();
    const connection = em.getConnection();
    const execute = connection.execute.bind(connection);
    let statements = 0;
    connection.execute = ((...args: Parameters<typeof execute>) => {
      statements++;
      return execute(...args);
    }) as typeof connection.execute;
    try {
      const p = new PermissionService(em);
      const results = await Promise.all(
        [vm, other, vm, other].map((r) => p.roleOf(actors.owner as Actor, r)),
      );
      expect(results).toEqual(['OWNER', null, 'OWNER', null]);
      expect(statements).toBe(1);
    } finally {
      connection.execute = execute;
    }
  });

  it('filters lists in SQL to what the actor may view', async () => {
    const names = async (actor: Actor) => {
      const em = db.fork();
      const p = new PermissionService(em);
      return (await em.find(Vm, await p.visibleIds(actor, 'VM'), { orderBy: { id: 'asc' } })).map(
        (v) => v.id,
      );
    };
    expect(await names(actors.viewer as Actor)).toEqual([vm.id]);
    expect(await names(actors.outsider as Actor)).toEqual([other.id]);
    expect((await names(actors.admin as Actor)).sort()).toEqual([vm.id, other.id].sort());
  });
});
