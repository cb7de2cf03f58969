import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, codeOf, startTestKumo, type TestKumo } from './support.ts';

const SET = `mutation($input: QuotaSetInput!) { quotaSet(input: $input) {
  quota { vms vcpus memoryBytes diskBytes snapshots } userErrors { code field message } } }`;

describe('quotas', () => {
  let k: TestKumo;
  let admin: string;
  let tenant: string;
  let tenantId: string;
  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
    const r = await k.gql<{ userCreate: { user: { id: string } } }>(
      'mutation { userCreate(input: {email: "q@kumo.test", password: "quota-pass"}) { user { id } } }',
      {},
      admin,
    );
    tenantId = r.data?.userCreate.user.id as string;
    tenant = await k.signIn('q@kumo.test', 'quota-pass');
  });
  afterAll(() => k.stop());

  it('start unlimited; admins set limits, byte counts exact beyond 2^53; null lifts a limit', async () => {
    const mine = async () =>
      (
        await k.gql<{ viewer: { quota: Record<string, unknown> } }>(
          '{ viewer { quota { vms vcpus memoryBytes diskBytes } } }',
          {},
          tenant,
        )
      ).data?.viewer.quota;
    expect(await mine()).toEqual({ vms: null, vcpus: null, memoryBytes: null, diskBytes: null });
    const big = (2n ** 60n + 7n).toString();
    const set = await k.gql<{
      quotaSet: { quota: Record<string, unknown>; userErrors: unknown[] };
    }>(
      SET,
      { input: { user: tenantId, vms: 5, vcpus: 8, memoryBytes: '17179869184', diskBytes: big } },
      admin,
    );
    expect(set.data?.quotaSet).toEqual({
      quota: { vms: 5, vcpus: 8, memoryBytes: '17179869184', diskBytes: big, snapshots: null },
      userErrors: [],
    });
    expect(await mine()).toEqual({ vms: 5, vcpus: 8, memoryBytes: '17179869184', diskBytes: big });
    await k.gql(SET, { input: { user: tenantId, vms: null } }, admin);
    expect(await mine()).toEqual({
      vms: null,
      vcpus: 8,
      memoryBytes: '17179869184',
      diskBytes: big,
    });
  });

  it('refuses negative limits, tenants setting limits, and unknown users', async () => {
    const negative = await k.gql<{ quotaSet: { userErrors: unknown[] } }>(
      SET,
      { input: { user: tenantId, vcpus: -1 } },
      admin,
    );
    expect(negative.data?.quotaSet.userErrors).toEqual([
      { code: 'INVALID', field: 'input.vcpus', message: 'vcpus cannot be negative' },
    ]);
    expect(codeOf(await k.gql(SET, { input: { user: tenantId, vms: 1000 } }, tenant))).toBe(
      'FORBIDDEN',
    );
    const adminId = (await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, admin)).data
      ?.viewer.id;
    expect(
      codeOf(
        await k.gql(
          'query($id: ID!) { node(id: $id) { ... on User { quota { vms } } } }',
          { id: adminId },
          tenant,
        ),
      ),
    ).toBe('FORBIDDEN');
  });
});
