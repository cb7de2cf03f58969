// vmMigrate on VMs without an OS (SeaBIOS idles in them, which migrates like any guest):
// refusals, the scheduler's choice, owners where allowed, and cancelling. The real guest's
// migration (memory and disk arriving) is in vm-guest.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { MigrateFlags, migrate } from '../../src/libvirt/migrate.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until } from '../support/wait.ts';
import {
  ADMIN,
  addRigHost,
  addUser,
  gqlData,
  importImage,
  rawId,
  settled,
  startTestKumo,
  type TestKumo,
  vmOnHost,
} from './support.ts';

const MiB = 1024n * 1024n;

interface UserErrorView {
  code: string;
  field: string | null;
  message: string;
}
interface VmView {
  id: string;
  state: string;
  host: { name: string };
}

let k: TestKumo;
let files: FileServer;
let admin: string;
let alice: string;
let bob: string;
let imageId: string;
const hosts = new Map<string, string>();
const conns = new Map<string, LibvirtConnection>();

const gql = <T>(query: string, variables: Record<string, unknown>, token: string) =>
  gqlData<T>(k, query, variables, token);

async function vm(id: string): Promise<VmView> {
  const r = await gql<{ node: VmView }>(
    'query($id: ID!) { node(id: $id) { ... on Vm { id state host { name } } } }',
    { id },
    admin,
  );
  return r.data?.node as VmView;
}

async function createVm(name: string, host: string, memoryMiB = 64n): Promise<VmView> {
  const r = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } userErrors { code message } } }',
    {
      input: {
        image: imageId,
        name,
        vcpus: 1,
        memoryBytes: String(memoryMiB * MiB),
        host: hosts.get(host),
      },
    },
    admin,
  );
  const id = r.data?.vmCreate.vm.id as string;
  expect((await settled(k, r.data?.vmCreate.operation.id as string, admin)).status).toBe(
    'SUCCEEDED',
  );
  await gql(
    'mutation($id: ID!) { vmShare(input: {id: $id, email: "alice@kumo.test", role: OWNER}) { userErrors { code } } }',
    { id },
    admin,
  );
  return vm(id);
}

async function migrateVm(input: Record<string, unknown>, token = admin) {
  const r = await k.gql<{
    vmMigrate: { operation: { id: string } | null; userErrors: UserErrorView[] };
  }>(
    'mutation($input: VmMigrateInput!) { vmMigrate(input: $input) { operation { id } userErrors { code field message } } }',
    { input },
    token,
  );
  return r;
}

function onHost(host: string, vmId: string) {
  return vmOnHost(conns.get(host) as LibvirtConnection, vmId);
}

beforeAll(async () => {
  files = await serveFiles();
  files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', ownersMayMigrate: true },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  alice = await addUser(k, admin, 'alice');
  bob = await addUser(k, admin, 'bob');
  for (const name of ['hv1', 'hv2'] as const) {
    const conn = await openTls(rigHost(name));
    conns.set(name, conn);
    await ensureGuestNetwork(conn);
    hosts.set(name, await addRigHost(k, admin, name, { settings: { cpuOvercommit: 8 } }));
  }
  imageId = await importImage(k, admin, `${files.base}/disk.raw`, 'blank');
}, 120_000);

afterAll(async () => {
  await k?.stop();
  await files?.close();
  for (const c of conns.values()) await c.close();
});

describe('vmMigrate', () => {
  it('refuses what cannot move, saying why, before anything is touched', async () => {
    const v = await createVm('stays', 'hv1');
    const codeOf = async (input: Record<string, unknown>, token = admin) =>
      (await migrateVm({ id: v.id, ...input }, token)).data?.vmMigrate.userErrors[0];
    expect(await codeOf({ host: hosts.get('hv1') })).toMatchObject({
      code: 'INVALID',
      field: 'input.host',
    });
    expect(await codeOf({ bandwidthMiBs: 0 })).toMatchObject({
      code: 'INVALID',
      field: 'input.bandwidthMiBs',
    });
    // Bob may run it (OPERATOR) but not move it: moving is the owner's call.
    await gql(
      'mutation($id: ID!) { vmShare(input: {id: $id, email: "bob@kumo.test", role: OPERATOR}) { userErrors { code } } }',
      { id: v.id },
      alice,
    );
    const byBob = await migrateVm({ id: v.id }, bob);
    expect(byBob.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: true}) { host { state } } }',
      { id: hosts.get('hv2') },
      admin,
    );
    expect(await codeOf({ host: hosts.get('hv2') })).toMatchObject({ code: 'UNAVAILABLE' });
    expect(await codeOf({})).toMatchObject({ code: 'UNAVAILABLE' });
    await gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: false}) { host { state } } }',
      { id: hosts.get('hv2') },
      admin,
    );

    const snap = await gql<{ vmSnapshotCreate: { snapshot: { id: string } } }>(
      'mutation($id: ID!) { vmSnapshotCreate(input: {vm: $id, name: "s"}) { snapshot { id } } }',
      { id: v.id },
      alice,
    );
    expect(await codeOf({})).toMatchObject({ code: 'INVALID_STATE' });
    await gql(
      'mutation($id: ID!) { vmSnapshotDelete(input: {id: $id}) { deletedSnapshotId } }',
      { id: snap.data?.vmSnapshotCreate.snapshot.id },
      alice,
    );

    await gql(
      'mutation($id: ID!) { vmPowerOff(input: {id: $id}) { vm { state } } }',
      { id: v.id },
      alice,
    );
    expect(await codeOf({})).toMatchObject({ code: 'INVALID_STATE', field: 'input.id' });
    expect(await onHost('hv2', v.id)).toEqual({ volumes: [], domain: null });
    expect(await vm(v.id)).toMatchObject({ state: 'STOPPED', host: { name: 'hv1' } });
  });

  it('lets its owner move it where the scheduler chooses, and back with post-copy allowed where KVM runs it', async () => {
    const v = await createVm('mover', 'hv1');
    const there = await migrateVm({ id: v.id }, alice);
    expect(there.data?.vmMigrate.userErrors).toEqual([]);
    const op = await settled(k, there.data?.vmMigrate.operation?.id as string, alice);
    expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv2' } });
    expect(await onHost('hv1', v.id)).toEqual({ volumes: [], domain: null });
    const id = rawId(v.id);
    expect(await onHost('hv2', v.id)).toEqual({
      volumes: [`vm-${id}.qcow2`],
      domain: 'running',
    });

    // The destination accepts post-copy (QEMU there can use userfaultfd); an idle VM converges
    // in its first pass, before any switch. Under TCG (no /dev/kvm) post-copy is refused: QEMU
    // can leave the guest hung after the switch.
    const kvm = rig().domainType === 'kvm';
    if (!kvm) {
      const refused = await migrateVm({ id: v.id, host: hosts.get('hv1'), postCopy: true }, alice);
      expect(refused.data?.vmMigrate.userErrors).toMatchObject([
        { code: 'REFUSED', field: 'input.postCopy' },
      ]);
    }
    const back = await migrateVm({ id: v.id, host: hosts.get('hv1'), postCopy: kvm }, alice);
    expect(back.data?.vmMigrate.userErrors).toEqual([]);
    const backOp = back.data?.vmMigrate.operation?.id as string;
    expect((await settled(k, backOp, alice)).status).toBe('SUCCEEDED');
    const figures = await gql<{ node: { migration: { postCopy: boolean; phase: string } } }>(
      'query($id: ID!) { node(id: $id) { ... on Operation { migration { postCopy phase } } } }',
      { id: backOp },
      alice,
    );
    expect(figures.data?.node.migration).toEqual({ postCopy: false, phase: 'CLEANING_UP' });
    expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv1' } });
    expect((await onHost('hv2', v.id)).domain).toBeNull();
  });

  it('cancels a migration under way: the VM runs on where it was, the destination is clean', async () => {
    const v = await createVm('cancelled', 'hv1', 256n);
    // At 1 MiB/s the move takes long enough to be cancelled in the middle.
    const out = await migrateVm({ id: v.id, host: hosts.get('hv2'), bandwidthMiBs: 1 });
    const opId = out.data?.vmMigrate.operation?.id as string;
    await until(
      async () => {
        const r = await gql<{ node: { migration: { phase: string } | null } }>(
          'query($id: ID!) { node(id: $id) { ... on Operation { migration { phase } } } }',
          { id: opId },
          admin,
        );
        const phase = r.data?.node.migration?.phase;
        return phase === 'COPYING_DISK' || phase === 'COPYING_MEMORY' ? true : undefined;
      },
      30_000,
      'the migration to be copying',
    );
    expect((await vm(v.id)).state).toBe('MIGRATING');
    const cancel = await gql<{ operationCancel: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { userErrors { code message } } }',
      { id: opId },
      admin,
    );
    expect(cancel.data?.operationCancel.userErrors).toEqual([]);
    expect((await settled(k, opId, admin)).status).toBe('CANCELLED');
    expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv1' } });
    expect((await onHost('hv1', v.id)).domain).toBe('running');
    expect(await onHost('hv2', v.id)).toEqual({ volumes: [], domain: null });
  });

  it('evacuates a host for maintenance: running VMs move away, a stopped one stays', async () => {
    const running = [await createVm('evac-1', 'hv2'), await createVm('evac-2', 'hv2')];
    const stopped = await createVm('evac-stopped', 'hv2');
    await gql(
      'mutation($id: ID!) { vmPowerOff(input: {id: $id}) { vm { state } } }',
      { id: stopped.id },
      admin,
    );
    const hv2 = hosts.get('hv2') as string;

    // Removal is refused while a stopped VM's disk is there, and nothing moves.
    const refused = await gql<{ hostRemove: { userErrors: UserErrorView[] } }>(
      'mutation($id: ID!) { hostRemove(input: {id: $id, evacuate: true}) { userErrors { code message } } }',
      { id: hv2 },
      admin,
    );
    expect(refused.data?.hostRemove.userErrors[0]?.code).toBe('REFUSED');

    const r = await gql<{
      hostMaintenance: {
        host: { state: string };
        operation: { id: string } | null;
        userErrors: unknown[];
      };
    }>(
      'mutation($id: ID!) { hostMaintenance(input: {id: $id, evacuate: true}) { host { state } operation { id } userErrors { code message } } }',
      { id: hv2 },
      admin,
    );
    expect(r.data?.hostMaintenance.userErrors).toEqual([]);
    expect(r.data?.hostMaintenance.host.state).toBe('EVACUATING');
    // No VM may land on it meanwhile.
    const pinned = await k.gql<{ vmCreate: { userErrors: UserErrorView[] } }>(
      'mutation($input: VmCreateInput!) { vmCreate(input: $input) { userErrors { code field } } }',
      {
        input: {
          image: imageId,
          name: 'late',
          vcpus: 1,
          memoryBytes: String(64n * MiB),
          host: hv2,
        },
      },
      admin,
    );
    expect(pinned.data?.vmCreate.userErrors[0]).toMatchObject({
      code: 'UNAVAILABLE',
      field: 'input.host',
    });
    const op = await settled(k, r.data?.hostMaintenance.operation?.id as string, admin);
    expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
    for (const v of running) {
      expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv1' } });
      expect(await onHost('hv2', v.id)).toEqual({ volumes: [], domain: null });
    }
    expect(await vm(stopped.id)).toMatchObject({ state: 'STOPPED', host: { name: 'hv2' } });
    const state = await gql<{ node: { state: string } }>(
      'query($id: ID!) { node(id: $id) { ... on Host { state } } }',
      { id: hv2 },
      admin,
    );
    expect(state.data?.node.state).toBe('MAINTENANCE');
    await gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: false}) { host { state } } }',
      { id: hv2 },
      admin,
    );
  });

  it('finds a VM moved behind its back where it runs, and cleans the host it left', async () => {
    // What a controller that stopped in the middle of a migration finds when it is back: the
    // VM on the other host. Here the move is made with libvirt directly.
    const v = await createVm('moved-outside', 'hv1');
    const id = rawId(v.id);
    const [c1, c2] = [conns.get('hv1'), conns.get('hv2')] as [LibvirtConnection, LibvirtConnection];
    const pool2 = await c2.storage.lookupPool('kumo');
    const pool1 = await c1.storage.lookupPool('kumo');
    const overlay = await c1.storage.lookupVolume(pool1, `vm-${id}.qcow2`);
    const base = await c2.storage.lookupVolume(pool2, `img-${rawId(imageId)}`);
    await c2.storage.createVolume(
      pool2,
      volumeXml({
        name: `vm-${id}.qcow2`,
        capacityBytes: (await c1.storage.volumeInfo(overlay)).capacity,
        format: 'qcow2',
        backing: { path: await c2.storage.volumePath(base), format: 'raw' },
      }),
    );
    await migrate(c1, c2, await c1.domains.lookupByName(`kumo-${id}`), {
      flags:
        MigrateFlags.LIVE |
        MigrateFlags.PERSIST_DEST |
        MigrateFlags.UNDEFINE_SOURCE |
        MigrateFlags.NON_SHARED_INC,
      params: { migrateUri: `tcp://${rigHost('hv2').ip}`, migrateDisks: ['vda'] },
    });
    await k.kumo.vmWatcher.sweepAll();
    await until(
      async () => {
        const now = await vm(v.id);
        return now.host.name === 'hv2' && now.state === 'RUNNING' ? true : undefined;
      },
      10_000,
      'the VM to be found on hv2',
    );
    expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv2' } });
    expect(await onHost('hv1', v.id)).toEqual({ volumes: [], domain: null });
    expect((await onHost('hv2', v.id)).domain).toBe('running');
  });

  it("holds a migrating VM's room on its destination until it arrives", async () => {
    const facts = await gql<{ node: { facts: { memoryBytes: number } } }>(
      'query($id: ID!) { node(id: $id) { ... on Host { facts { memoryBytes } } } }',
      { id: hosts.get('hv2') },
      admin,
    );
    const share = BigInt(Math.floor((facts.data?.node.facts.memoryBytes ?? 0) * 0.6)) / MiB;
    const big = await createVm('big-mover', 'hv1', share);
    const out = await migrateVm({ id: big.id, host: hosts.get('hv2'), bandwidthMiBs: 1 });
    const opId = out.data?.vmMigrate.operation?.id as string;
    const late = await k.gql<{ vmCreate: { userErrors: UserErrorView[] } }>(
      'mutation($input: VmCreateInput!) { vmCreate(input: $input) { userErrors { code field } } }',
      {
        input: {
          image: imageId,
          name: 'too-late',
          vcpus: 1,
          memoryBytes: String(share * MiB),
          host: hosts.get('hv2'),
          start: false,
        },
      },
      admin,
    );
    expect(late.data?.vmCreate.userErrors[0]).toMatchObject({ code: 'UNAVAILABLE' });
    await gql(
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { operation { id } } }',
      { id: opId },
      admin,
    );
    expect((await settled(k, opId, admin)).status).toBe('CANCELLED');
    await gql(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId } }',
      { id: big.id },
      admin,
    );
  });

  it('says which VMs an evacuation could not move, moves the others and keeps the host in maintenance', async () => {
    const movable = await createVm('evac-movable', 'hv2');
    const stuck = await createVm('evac-stuck', 'hv2');
    // Internal snapshots live inside the disk on its host: a VM with one does not migrate.
    const snap = await gql<{ vmSnapshotCreate: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { vmSnapshotCreate(input: {vm: $id, name: "pinned"}) { userErrors { code message } } }',
      { id: stuck.id },
      admin,
    );
    expect(snap.data?.vmSnapshotCreate.userErrors).toEqual([]);
    const hv2 = hosts.get('hv2') as string;
    const r = await gql<{ hostMaintenance: { operation: { id: string } | null } }>(
      'mutation($id: ID!) { hostMaintenance(input: {id: $id, evacuate: true}) { operation { id } userErrors { code message } } }',
      { id: hv2 },
      admin,
    );
    const op = await settled(k, r.data?.hostMaintenance.operation?.id as string, admin);
    expect(op).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(
        /^1 of \d+ VMs stayed on hv2: evac-stuck: the VM has 1 snapshot/,
      ),
    });
    expect(await vm(movable.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv1' } });
    expect(await onHost('hv2', movable.id)).toEqual({ volumes: [], domain: null });
    expect(await vm(stuck.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv2' } });
    const state = await gql<{ node: { state: string } }>(
      'query($id: ID!) { node(id: $id) { ... on Host { state } } }',
      { id: hv2 },
      admin,
    );
    expect(state.data?.node.state).toBe('MAINTENANCE');
    for (const v of [movable, stuck])
      await gql(
        'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId } }',
        { id: v.id },
        admin,
      );
    await gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: false}) { host { state } } }',
      { id: hv2 },
      admin,
    );
  });

  it('removes a host after moving its running VMs away', async () => {
    // Its stopped VMs must go first: their disks are there.
    const stopped = await gql<{ vms: { edges: Array<{ node: { id: string; state: string } }> } }>(
      'query($host: ID) { vms(filter: {host: $host}) { edges { node { id state } } } }',
      { host: hosts.get('hv2') },
      admin,
    );
    for (const e of stopped.data?.vms.edges ?? [])
      if (e.node.state !== 'RUNNING')
        await gql(
          'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId } }',
          { id: e.node.id },
          admin,
        );
    const v = await createVm('last-one', 'hv2');
    const r = await gql<{
      hostRemove: {
        removedHostId: string | null;
        operation: { id: string } | null;
        userErrors: unknown[];
      };
    }>(
      'mutation($id: ID!) { hostRemove(input: {id: $id, evacuate: true}) { removedHostId operation { id } userErrors { code message } } }',
      { id: hosts.get('hv2') },
      admin,
    );
    expect(r.data?.hostRemove).toMatchObject({ removedHostId: null, userErrors: [] });
    const op = await settled(k, r.data?.hostRemove.operation?.id as string, admin);
    expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
    expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv1' } });
    const gone = await gql<{ node: unknown }>(
      'query($id: ID!) { node(id: $id) { id } }',
      { id: hosts.get('hv2') },
      admin,
    );
    expect(gone.data?.node).toBeNull();
    expect(await onHost('hv2', v.id)).toEqual({ volumes: [], domain: null });
  });
});
