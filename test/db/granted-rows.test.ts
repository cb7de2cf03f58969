// A user's page of rows walked through their grants on each dialect: only the rows granted, by
// name then id, after a cursor, filtered, each with the role granted.

import type { FilterQuery } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type SessionId, type UserId, type VmId } from '../../src/entities/ids.ts';
import type { User } from '../../src/entities/index.ts';
import { Vm } from '../../src/entities/vm.ts';
import type { Actor } from '../../src/services/actor.ts';
import { grantedRows } from '../../src/services/named-page.ts';
import { PermissionService } from '../../src/services/permissions/permission-service.ts';
import { makeUser, makeVm } from './fixtures.ts';
import { DIALECTS_UNDER_TEST, type Opened, openFresh } from './support.ts';

describe.each(DIALECTS_UNDER_TEST)('a page of granted rows on %s', (dialect) => {
  let opened: Opened;
  let alice: User;
  const byName = new Map<string, VmId>();

  beforeAll(async () => {
    opened = await openFresh(dialect);
    const em = opened.db.fork();
    alice = makeUser(em);
    const bob = makeUser(em);
    const grants = new PermissionService(em);
    // Two VMs named alike, told apart by id; one of bob's shared with alice; one not.
    for (const [owner, name] of [
      [alice, 'web'],
      [alice, 'web'],
      [alice, 'db'],
      [bob, 'cache'],
      [bob, 'build'],
    ] as const) {
      const vm = makeVm(em, owner, { name });
      grants.grantOwner(owner.id as UserId, { type: 'VM', id: vm.id, name });
      byName.set(`${name}${byName.has(name) ? '2' : ''}`, vm.id);
      if (name === 'cache') vm.state = 'RUNNING';
    }
    await em.flush();
    const cache = { type: 'VM', id: byName.get('cache') as VmId, name: 'cache' } as const;
    const actor: Actor = {
      userId: bob.id as UserId,
      sessionId: newId<SessionId>(),
      isAdmin: false,
      address: '127.0.0.1',
    };
    await new PermissionService(opened.db.fork()).share(actor, cache, alice.id as UserId, 'VIEWER');
  });
  afterAll(() => opened.cleanup());

  const page = async (q: Parameters<typeof grantedRows>[5], where: FilterQuery<Vm>[] = []) => {
    const grantee = { user: alice.id as UserId, type: 'VM' } as const;
    const r = await grantedRows(opened.db.fork(), Vm, ['id', 'name'], grantee, where, q);
    return { rows: r.rows.map((x) => [x.name, x.role]), more: r.hasNextPage, last: r.rows.at(-1) };
  };

  it('walks the grants by name then id, page after page', async () => {
    const webs = [byName.get('web'), byName.get('web2')].sort() as VmId[];
    const first = await page({ first: 2 });
    expect(first.rows).toEqual([
      ['cache', 'VIEWER'],
      ['db', 'OWNER'],
    ]);
    expect(first.more).toBe(true);
    const second = await page({ first: 1, after: { name: 'db', id: byName.get('db') as VmId } });
    expect(second).toMatchObject({ rows: [['web', 'OWNER']], more: true });
    expect(second.last?.id).toBe(webs[0]);
    const third = await page({ first: 5, after: { name: 'web', id: webs[0] as VmId } });
    expect(third).toMatchObject({ rows: [['web', 'OWNER']], more: false });
    expect(third.last?.id).toBe(webs[1]);
  });

  it('filters the rows and matches text, in the same order', async () => {
    expect((await page({ first: 5 }, [{ state: 'RUNNING' }])).rows).toEqual([['cache', 'VIEWER']]);
    expect((await page({ first: 5, text: 'we' })).rows).toEqual([
      ['web', 'OWNER'],
      ['web', 'OWNER'],
    ]);
  });
});
