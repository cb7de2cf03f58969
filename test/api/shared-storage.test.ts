// Hosts declared to share storage (here: a directory every rig host sees, as NFS would be):
// one image copy serves them all, VMs move between them without copying disks, and nothing
// deletes a file a peer's VM still uses.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';
import {
  ADMIN,
  addRigHost,
  type GqlResult,
  importImage,
  rawId,
  settled,
  startTestKumo,
  type TestKumo,
  vmOnHost,
} from './support.ts';

const POOL = { name: 'kumo-shared-test', path: '/var/lib/kumo-shared-test' };
const MiB = 1024n * 1024n;

let k: TestKumo;
let files: FileServer;
let admin: string;
let imageId: string;
const hosts = new Map<string, string>();
const conns = new Map<string, LibvirtConnection>();

async function gql<T>(query: string, variables: Record<string, unknown>) {
  const r: GqlResult<T> = await k.gql<T>(query, variables, admin);
  if (!r.data || r.errors) throw new Error(JSON.stringify(r));
  return r.data;
}

async function poolVolumes(host: string): Promise<string[]> {
  const conn = conns.get(host) as LibvirtConnection;
  const pool = await conn.storage.lookupPool(POOL.name);
  await conn.storage.refreshPool(pool);
  return (await conn.storage.listVolumes(pool)).map((v) => v.name);
}

async function domainState(host: string, vmId: string) {
  return (await vmOnHost(conns.get(host) as LibvirtConnection, vmId, POOL.name)).domain;
}

async function migrateTo(id: string, host: string) {
  const r = await gql<{
    vmMigrate: { operation: { id: string } | null; userErrors: unknown[] };
  }>(
    'mutation($input: VmMigrateInput!) { vmMigrate(input: $input) { operation { id } userErrors { code message } } }',
    { input: { id, host: hosts.get(host) } },
  );
  expect(r.vmMigrate.userErrors).toEqual([]);
  const opId = r.vmMigrate.operation?.id as string;
  expect(await settled(k, opId, admin)).toMatchObject({ status: 'SUCCEEDED', error: null });
  const op = await gql<{ node: { migration: { diskTotalBytes: number } } }>(
    'query($id: ID!) { node(id: $id) { ... on Operation { migration { diskTotalBytes } } } }',
    { id: opId },
  );
  return op.node.migration;
}

beforeAll(async () => {
  files = await serveFiles();
  files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        storage: { poolName: POOL.name, poolPath: POOL.path },
        // Sweeps often, so that one that deleted a peer's file would do it during the test.
        vms: { network: 'kumo-guests', reconcileIntervalSeconds: 1 },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  for (const name of ['hv1', 'hv2'] as const) {
    const conn = await openTls(rigHost(name));
    conns.set(name, conn);
    await ensureGuestNetwork(conn);
    hosts.set(
      name,
      await addRigHost(k, admin, name, {
        settings: { cpuOvercommit: 8, sharedStorage: 'nfs-a' },
      }),
    );
  }
  imageId = await importImage(k, admin, `${files.base}/disk.raw`, 'blank');
}, 120_000);

afterAll(async () => {
  await k?.stop();
  await files?.close();
  for (const conn of conns.values()) {
    const pool = await conn.storage.lookupPool(POOL.name).catch(() => null);
    if (pool) {
      await conn.storage.stopPool(pool).catch(() => undefined);
      await conn.storage.undefinePool(pool).catch(() => undefined);
    }
    await conn.close();
  }
  rmSync(POOL.path, { recursive: true, force: true });
});

describe('hosts that share storage', () => {
  it('move a running VM without copying its disk, and keep the files their VMs use', async () => {
    const created = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
      'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
      {
        input: {
          image: imageId,
          name: 'on-nfs',
          vcpus: 1,
          memoryBytes: String(64n * MiB),
          host: hosts.get('hv1'),
          sshKeys: [],
        },
      },
    );
    const id = created.vmCreate.vm.id;
    expect((await settled(k, created.vmCreate.operation.id, admin)).status).toBe('SUCCEEDED');
    const disk = `vm-${rawId(id)}.qcow2`;
    const base = `img-${rawId(imageId)}`;
    // One file, seen from both hosts.
    expect(await poolVolumes('hv2')).toEqual(expect.arrayContaining([disk, base]));
    const xml = await (conns.get('hv1') as LibvirtConnection).domains.xml(
      await (conns.get('hv1') as LibvirtConnection).domains.lookupByName(`kumo-${rawId(id)}`),
    );
    expect(xml).toMatch(/<driver name='qemu' type='qcow2' cache='none'\/>/);

    expect((await migrateTo(id, 'hv2')).diskTotalBytes).toBe(0);
    expect(await domainState('hv2', id)).toBe('running');
    expect(await domainState('hv1', id)).toBeNull();
    // The disk stayed where it was, for the VM on hv2; sweeps of both hosts leave it alone.
    await k.kumo.vmWatcher.sweepAll();
    expect(await poolVolumes('hv1')).toEqual(expect.arrayContaining([disk, base]));

    // A second VM uses the same base copy.
    const second = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
      'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
      {
        input: {
          image: imageId,
          name: 'also-on-nfs',
          vcpus: 1,
          memoryBytes: String(64n * MiB),
          host: hosts.get('hv1'),
        },
      },
    );
    expect((await settled(k, second.vmCreate.operation.id, admin)).status).toBe('SUCCEEDED');
    expect((await migrateTo(id, 'hv1')).diskTotalBytes).toBe(0);
    expect(await domainState('hv1', id)).toBe('running');

    for (const vmId of [id, second.vmCreate.vm.id])
      await gql('mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId } }', { id: vmId });
    await gql('mutation($id: ID!) { imageRemove(input: {id: $id}) { removedImageId } }', {
      id: imageId,
    });
    const left = await poolVolumes('hv2');
    expect(left.filter((n) => n.includes(rawId(id)) || n === base)).toEqual([]);
  });
});
