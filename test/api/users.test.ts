import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/entities/ids.ts';
import { Permission } from '../../src/entities/permission.ts';
import { User } from '../../src/entities/user.ts';
import { Vm } from '../../src/entities/vm.ts';
import { makeVm } from '../db/fixtures.ts';
import { ADMIN, startTestKumo, type TestKumo } from './support.ts';

const REMOVE = `mutation($id: ID!, $owned: OwnedResources, $to: ID) {
  userRemove(input: {id: $id, owned: $owned, transferTo: $to}) { removedUserId userErrors { code field message } } }`;

interface RemoveResult {
  userRemove: {
    removedUserId: string | null;
    userErrors: Array<{ code: string; field: string | null; message: string }>;
  };
}

describe('removing a user who owns things', () => {
  let k: TestKumo;
  let admin: string;
  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
  });
  afterAll(() => k.stop());

  async function userWithVm(email: string): Promise<{ globalId: string; vmId: string }> {
    const r = await k.gql<{ userCreate: { user: { id: string } } }>(
      `mutation { userCreate(input: {email: "${email}", password: "some-password"}) { user { id } } }`,
      {},
      admin,
    );
    const globalId = r.data?.userCreate.user.id as string;
    // VMs come with the next issue's API; the rows are what removal has to deal with.
    const em = k.kumo.db.fork();
    const owner = (await em.findOneOrFail(User, { email })) as User;
    const vm = makeVm(em, owner, { name: 'web' });
    em.create(Permission, {
      user: owner,
      resourceType: 'VM',
      resourceId: vm.id,
      resourceName: vm.name,
      role: 'OWNER',
    });
    await em.flush();
    return { globalId, vmId: vm.id };
  }

  it('is refused by default, saying what the user still owns', async () => {
    const { globalId } = await userWithVm('keeper@kumo.test');
    const r = await k.gql<RemoveResult>(REMOVE, { id: globalId }, admin);
    expect(r.data?.userRemove).toEqual({
      removedUserId: null,
      userErrors: [
        {
          code: 'REFUSED',
          field: 'input.id',
          message: 'keeper@kumo.test still owns 1 VMs and 0 images: delete or transfer them',
        },
      ],
    });
  });

  it('transfers the VMs and their OWNER role to another user when asked', async () => {
    const { globalId, vmId } = await userWithVm('leaver2@kumo.test');
    const heir = await k.gql<{ userCreate: { user: { id: string } } }>(
      'mutation { userCreate(input: {email: "heir@kumo.test", password: "heir-password"}) { user { id } } }',
      {},
      admin,
    );
    const r = await k.gql<RemoveResult>(
      REMOVE,
      { id: globalId, owned: 'TRANSFER', to: heir.data?.userCreate.user.id },
      admin,
    );
    expect(r.data?.userRemove.userErrors).toEqual([]);
    expect(r.data?.userRemove.removedUserId).toBe(globalId);
    const em = k.kumo.db.fork();
    const heirUser = (await em.findOneOrFail(User, { email: 'heir@kumo.test' })) as User;
    expect((await em.findOneOrFail(Vm, { id: vmId as Vm['id'] })).owner.id).toBe(heirUser.id);
    const perms = await em.find(Permission, { resourceId: vmId as Vm['id'] });
    expect(perms.map((p) => [p.user.id as UserId, p.role])).toEqual([[heirUser.id, 'OWNER']]);
    expect(await em.count(User, { email: 'leaver2@kumo.test' })).toBe(0);
  });
});
