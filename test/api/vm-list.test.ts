// A user's VM list walks their grants in name order: what they own and what is shared with
// them, paged by cursor, in the order of the VMs' current names. No hypervisor is involved:
// the rows are made as the create path makes them (a VM and its owner's grant).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { PermissionService } from '../../src/services/permissions/permission-service.ts';
import { makeVm } from '../db/fixtures.ts';
import { ADMIN, addUser, type GqlResult, startTestKumo, type TestKumo } from './support.ts';

const LIST = `query($first: Int!, $after: String) {
  vms(first: $first, after: $after) {
    edges { node { name myRole } } pageInfo { hasNextPage endCursor } } }`;

interface ListResult {
  vms: {
    edges: Array<{ node: { name: string; myRole: string | null } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

describe("a user's VM list", () => {
  let k: TestKumo;
  let admin: string;
  let alice: string;
  let bob: string;
  const ids = new Map<string, string>();
  const vmGlobalId = (name: string) => Buffer.from(`Vm:${ids.get(name)}`).toString('base64');

  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
    alice = await addUser(k, admin, 'alice');
    bob = await addUser(k, admin, 'bob');
    await addUser(k, admin, 'carol');
    const em = k.kumo.db.fork();
    const grants = new PermissionService(em);
    const owned = { alice: ['c-web', 'a-db', 'e-cache'], bob: ['b-build'], carol: ['d-secret'] };
    for (const [who, names] of Object.entries(owned)) {
      const owner = await em.findOneOrFail(User, { email: `${who}@kumo.test` });
      for (const name of names) {
        const vm = makeVm(em, owner, { name });
        grants.grantOwner(owner.id as UserId, { type: 'VM', id: vm.id, name });
        ids.set(name, vm.id);
      }
    }
    await em.flush();
  });
  afterAll(() => k.stop());

  async function all(token: string, first: number): Promise<string[][]> {
    const pages: string[][] = [];
    let after: string | null = null;
    for (;;) {
      const r: GqlResult<ListResult> = await k.gql<ListResult>(LIST, { first, after }, token);
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      pages.push(r.data.vms.edges.map((e) => `${e.node.name}:${e.node.myRole}`));
      if (!r.data.vms.pageInfo.hasNextPage) return pages;
      after = r.data.vms.pageInfo.endCursor;
    }
  }

  it('lists only what the user holds a role on, by name, page by page', async () => {
    expect(await all(alice, 2)).toEqual([['a-db:OWNER', 'c-web:OWNER'], ['e-cache:OWNER']]);
    expect(await all(bob, 2)).toEqual([['b-build:OWNER']]);
  });

  it('places a VM shared with the user by its name, with the role given', async () => {
    const r = await k.gql(
      `mutation($id: ID!) { vmShare(input: {id: $id, email: "alice@kumo.test", role: VIEWER}) {
         userErrors { code } } }`,
      { id: vmGlobalId('b-build') },
      bob,
    );
    expect(r.errors).toBeUndefined();
    expect(await all(alice, 2)).toEqual([
      ['a-db:OWNER', 'b-build:VIEWER'],
      ['c-web:OWNER', 'e-cache:OWNER'],
    ]);
  });

  it('moves a renamed VM to its new place, for its owner and those it is shared with', async () => {
    const r = await k.gql(
      `mutation($id: ID!) { vmUpdate(input: {id: $id, name: "z-build"}) { userErrors { code } } }`,
      { id: vmGlobalId('b-build') },
      bob,
    );
    expect(r.errors).toBeUndefined();
    expect(await all(alice, 3)).toEqual([
      ['a-db:OWNER', 'c-web:OWNER', 'e-cache:OWNER'],
      ['z-build:VIEWER'],
    ]);
    expect(await all(bob, 3)).toEqual([['z-build:OWNER']]);
  });

  it('lists every VM for an admin, by name', async () => {
    expect((await all(admin, 10)).flat().map((n) => n.split(':')[0])).toEqual([
      'a-db',
      'c-web',
      'd-secret',
      'e-cache',
      'z-build',
    ]);
  });
});
