// Allocation limits enforced at every operation that reserves something, on the rig (hv1, VMs
// without an OS): counts, running VMs, vCPUs and memory on start and resize, snapshots, images
// and their bytes; concurrent requests never exceed a limit together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';
import {
  ADMIN,
  addRigHost,
  addUser,
  type GqlResult,
  importImage,
  settled,
  startTestKumo,
  type TestKumo,
} from './support.ts';

const MiB = 1024n * 1024n;
const DISK = Buffer.alloc(1024 * 1024);

interface UserErrorView {
  code: string;
  message: string;
  quota: { limit: string; max: string; used: string; requested: string } | null;
}
interface CreatePayload {
  vm: { id: string } | null;
  operation: { id: string } | null;
  userErrors: UserErrorView[];
}
const ERRORS = 'userErrors { code message quota { limit max used requested } }';

let k: TestKumo;
let files: FileServer;
let conn: LibvirtConnection;
let admin: string;
let imageId: string;

async function userId(token: string): Promise<string> {
  const r = await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, token);
  return r.data?.viewer.id as string;
}

async function setQuota(token: string, limits: Record<string, unknown>): Promise<void> {
  const r = await k.gql<{ quotaSet: { userErrors: unknown[] } }>(
    'mutation($input: QuotaSetInput!) { quotaSet(input: $input) { userErrors { code message } } }',
    { input: { user: await userId(token), ...limits } },
    admin,
  );
  expect(r.data?.quotaSet.userErrors).toEqual([]);
}

async function create(token: string, input: Record<string, unknown> = {}): Promise<CreatePayload> {
  const r: GqlResult<{ vmCreate: CreatePayload }> = await k.gql(
    `mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } ${ERRORS} } }`,
    { input: { image: imageId, name: 'q', vcpus: 1, memoryBytes: String(64n * MiB), ...input } },
    token,
  );
  if (!r.data) throw new Error(JSON.stringify(r));
  return r.data.vmCreate;
}

async function createSettled(token: string, input: Record<string, unknown> = {}) {
  const out = await create(token, input);
  expect(out.userErrors).toEqual([]);
  expect((await settled(k, out.operation?.id as string, token)).status).toBe('SUCCEEDED');
  return out.vm?.id as string;
}

async function act(token: string, mutation: string, id: string) {
  const r = await k.gql<Record<string, { userErrors: UserErrorView[] }>>(
    `mutation($id: ID!) { ${mutation}(input: {id: $id}) { ${ERRORS} } }`,
    { id },
    token,
  );
  return r.data?.[mutation]?.userErrors ?? [];
}

async function removeAll(token: string): Promise<void> {
  const r = await k.gql<{ vms: { edges: Array<{ node: { id: string } }> } }>(
    '{ vms(first: 100) { edges { node { id } } } }',
    {},
    token,
  );
  for (const e of r.data?.vms.edges ?? [])
    await k.gql(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId } }',
      { id: e.node.id },
      token,
    );
}

beforeAll(async () => {
  files = await serveFiles();
  files.route('/disk.raw', bytes(DISK));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests' },
        quotas: { defaults: { vms: 2, snapshots: 1 } },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  conn = await openTls(rigHost('hv1'));
  await ensureGuestNetwork(conn);
  await addRigHost(k, admin, 'hv1', { settings: { cpuOvercommit: 16 } });
  imageId = await importImage(k, admin, `${files.base}/disk.raw`, 'blank');
  await k.gql(
    'mutation($id: ID!) { imageUpdate(input: {id: $id, public: true}) { image { id } } }',
    { id: imageId },
    admin,
  );
}, 120_000);

afterAll(async () => {
  await k?.stop();
  await files?.close();
  await conn?.close();
});

describe('allocation limits', () => {
  it('start new users at the configured limits, and refuse the VM past them, saying why', async () => {
    const alice = await addUser(k, admin, 'alice');
    const mine = await k.gql<{
      viewer: { quota: { vms: number; snapshots: number; vcpus: null } };
    }>('{ viewer { quota { vms snapshots vcpus } } }', {}, alice);
    expect(mine.data?.viewer.quota).toEqual({ vms: 2, snapshots: 1, vcpus: null });
    await createSettled(alice, { start: false });
    await createSettled(alice, { start: false });
    const third = await create(alice, { start: false });
    expect(third.vm).toBeNull();
    expect(third.userErrors).toEqual([
      {
        code: 'QUOTA_EXCEEDED',
        message: 'this would take vms to 3, over its limit of 2 (2 in use, 1 asked for)',
        quota: { limit: 'VMS', max: '2', used: '2', requested: '1' },
      },
    ]);
    const usage = await k.gql<{
      quotaUsage: Array<{
        limit: string;
        max: string | null;
        used: string;
        remaining: string | null;
      }>;
    }>('{ quotaUsage { limit max used remaining } }', {}, alice);
    expect(usage.data?.quotaUsage).toEqual(
      expect.arrayContaining([
        { limit: 'VMS', max: '2', used: '2', remaining: '0' },
        { limit: 'VCPUS', max: null, used: '2', remaining: null },
        { limit: 'MEMORY_BYTES', max: null, used: String(128n * MiB), remaining: null },
        { limit: 'SNAPSHOTS', max: '1', used: '0', remaining: '1' },
        { limit: 'CPU_SECONDS', max: null, used: '0', remaining: null },
      ]),
    );
    // Eight allocation limits and five consumption limits.
    expect(usage.data?.quotaUsage).toHaveLength(13);
    // Another user's usage is for admins only.
    const other = await addUser(k, admin, 'erin');
    const peek = await k.gql(
      'query($u: ID) { quotaUsage(user: $u) { used } }',
      { u: await userId(alice) },
      other,
    );
    expect(peek.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await removeAll(alice);
  });

  it('admit exactly as many of 20 concurrent creates as the limit has room for', async () => {
    const bob = await addUser(k, admin, 'bob');
    await setQuota(bob, { vms: 5 });
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => create(bob, { name: `burst ${i}`, start: false })),
    );
    const made = outs.filter((o) => o.vm !== null);
    expect(made).toHaveLength(5);
    for (const o of outs.filter((o) => o.vm === null))
      expect(o.userErrors[0]?.quota).toMatchObject({ limit: 'VMS', max: '5', used: '5' });
    for (const o of made)
      expect((await settled(k, o.operation?.id as string, bob)).status).toBe('SUCCEEDED');
    const listed = await k.gql<{ vms: { edges: unknown[] } }>(
      '{ vms(first: 50) { edges { node { id } } } }',
      {},
      bob,
    );
    expect(listed.data?.vms.edges).toHaveLength(5);
    await removeAll(bob);
  });

  it('check running VMs at start, vCPUs and memory at resize, snapshots at snapshot', async () => {
    const carol = await addUser(k, admin, 'carol');
    await setQuota(carol, { runningVms: 1, vcpus: 3, memoryBytes: String(192n * MiB) });
    const first = await createSettled(carol, { maxVcpus: 4, maxMemoryBytes: String(256n * MiB) });
    const second = await createSettled(carol, { start: false });
    expect(await act(carol, 'vmStart', second)).toEqual([
      expect.objectContaining({
        code: 'QUOTA_EXCEEDED',
        quota: { limit: 'RUNNING_VMS', max: '1', used: '1', requested: '1' },
      }),
    ]);
    // Stopping the first frees its running slot.
    expect(await act(carol, 'vmPowerOff', first)).toEqual([]);
    expect(await act(carol, 'vmStart', second)).toEqual([]);

    const resize = async (input: Record<string, unknown>) =>
      (
        await k.gql<{ vmResize: { userErrors: UserErrorView[] } }>(
          `mutation($input: VmResizeInput!) { vmResize(input: $input) { ${ERRORS} } }`,
          { input: { id: first, ...input } },
          carol,
        )
      ).data?.vmResize.userErrors;
    expect(await resize({ vcpus: 3 })).toEqual([
      expect.objectContaining({
        quota: { limit: 'VCPUS', max: '3', used: '2', requested: '2' },
      }),
    ]);
    expect(await resize({ memoryBytes: String(160n * MiB) })).toEqual([
      expect.objectContaining({
        quota: {
          limit: 'MEMORY_BYTES',
          max: String(192n * MiB),
          used: String(128n * MiB),
          requested: String(96n * MiB),
        },
      }),
    ]);
    expect(await resize({ vcpus: 2, memoryBytes: String(128n * MiB) })).toEqual([]);

    const snap = async (name: string) =>
      (
        await k.gql<{ vmSnapshotCreate: { userErrors: UserErrorView[] } }>(
          `mutation($id: ID!, $name: String!) { vmSnapshotCreate(input: {vm: $id, name: $name}) { ${ERRORS} } }`,
          { id: second, name },
          carol,
        )
      ).data?.vmSnapshotCreate.userErrors;
    expect(await snap('one')).toEqual([]);
    expect(await snap('two')).toEqual([
      expect.objectContaining({
        quota: { limit: 'SNAPSHOTS', max: '1', used: '1', requested: '1' },
      }),
    ]);
    await removeAll(carol);
  });

  it('count images when they are recorded and their bytes once they are known', async () => {
    const dave = await addUser(k, admin, 'dave');
    await setQuota(dave, { images: 2, imageBytes: String(DISK.length - 1) });
    const importIt = async () =>
      (
        await k.gql<{
          imageImport: {
            image: { id: string } | null;
            operation: { id: string } | null;
            userErrors: UserErrorView[];
          };
        }>(
          `mutation($url: String!) { imageImport(input: {url: $url, name: "mine"}) { image { id } operation { id } ${ERRORS} } }`,
          { url: `${files.base}/disk.raw` },
          dave,
        )
      ).data?.imageImport;
    // The download is 1 MiB, one byte more than the limit: found out once it has arrived.
    const tooBig = await importIt();
    const op = await settled(k, tooBig?.operation?.id as string, dave);
    expect(op).toMatchObject({
      status: 'FAILED',
      error: `this would take imageBytes to ${DISK.length}, over its limit of ${DISK.length - 1} (0 in use, ${DISK.length} asked for)`,
    });
    const left = await k.gql<{ images: { edges: Array<{ node: { name: string } }> } }>(
      '{ images(first: 10) { edges { node { name } } } }',
      {},
      dave,
    );
    expect(left.data?.images.edges.map((e) => e.node.name)).toEqual(['blank']);

    await setQuota(dave, { imageBytes: null });
    const a = await importIt();
    const b = await importIt();
    expect((await settled(k, a?.operation?.id as string, dave)).status).toBe('SUCCEEDED');
    expect((await settled(k, b?.operation?.id as string, dave)).status).toBe('SUCCEEDED');
    const c = await importIt();
    expect(c?.userErrors).toEqual([
      expect.objectContaining({ quota: { limit: 'IMAGES', max: '2', used: '2', requested: '1' } }),
    ]);
  });
});
