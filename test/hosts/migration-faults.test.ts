// Migrations whose hosts fail under them (hv4's libvirtd killed as the source, then as the
// destination): the operation fails saying so, the VM runs in exactly one place, and nothing of
// it is left on the other host once the broken one is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hungHostBoundMs } from '../../src/services/hosts/host-monitor.ts';
import {
  ADMIN,
  addRigHost,
  type GqlResult,
  importImage,
  settled,
  startTestKumo,
  type TestKumo,
  vmOnHost,
} from '../api/support.ts';
import { holdHostForFaults, setHostLink, startLibvirtd, stopLibvirtd } from '../rig/index.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';
import { until } from '../support/wait.ts';

const MiB = 1024n * 1024n;
// A host whose libvirtd was restarted is reconnected with backoff; sweeps then settle its VMs.
const BACK_MS = 90_000;

let k: TestKumo;
let files: FileServer;
let admin: string;
let imageId: string;
let release: () => void = () => undefined;
const hosts = new Map<string, string>();

async function gql<T>(query: string, variables: Record<string, unknown>) {
  const r: GqlResult<T> = await k.gql<T>(query, variables, admin);
  if (!r.data) throw new Error(JSON.stringify(r));
  return r.data;
}

async function vm(id: string) {
  return (
    await gql<{ node: { state: string; host: { name: string } } }>(
      'query($id: ID!) { node(id: $id) { ... on Vm { state host { name } } } }',
      { id },
    )
  ).node;
}

async function createVm(name: string, host: string): Promise<string> {
  const r = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
    {
      input: {
        image: imageId,
        name,
        vcpus: 1,
        memoryBytes: String(256n * MiB),
        host: hosts.get(host),
      },
    },
  );
  expect((await settled(k, r.vmCreate.operation.id, admin)).status).toBe('SUCCEEDED');
  return r.vmCreate.vm.id;
}

// Starts a slow migration (1 MiB/s) and resolves once it is copying.
async function migrating(id: string, to: string): Promise<string> {
  const r = await gql<{ vmMigrate: { operation: { id: string } } }>(
    'mutation($input: VmMigrateInput!) { vmMigrate(input: $input) { operation { id } } }',
    { input: { id, host: hosts.get(to), bandwidthMiBs: 1 } },
  );
  const opId = r.vmMigrate.operation.id;
  await until(
    async () => {
      const op = await gql<{ node: { migration: { phase: string } | null } }>(
        'query($id: ID!) { node(id: $id) { ... on Operation { migration { phase } } } }',
        { id: opId },
      );
      const phase = op.node.migration?.phase;
      return phase === 'COPYING_DISK' || phase === 'COPYING_MEMORY' ? true : undefined;
    },
    30_000,
    'the migration to be copying',
  );
  return opId;
}

// What of the VM a host has, over a connection of the test's own (hv4's libvirtd restarts).
async function onHost(name: 'hv3' | 'hv4', id: string) {
  const conn = await openTls(rigHost(name));
  try {
    return await vmOnHost(conn, id);
  } finally {
    await conn.close();
  }
}

beforeAll(async () => {
  release = await holdHostForFaults('hv4');
  files = await serveFiles();
  files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', reconcileIntervalSeconds: 2 },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  for (const name of ['hv3', 'hv4'] as const) {
    const conn = await openTls(rigHost(name));
    await ensureGuestNetwork(conn);
    await conn.close();
    hosts.set(name, await addRigHost(k, admin, name, { settings: { cpuOvercommit: 8 } }));
  }
  imageId = await importImage(k, admin, `${files.base}/disk.raw`, 'blank');
}, 120_000);

afterAll(async () => {
  await setHostLink(rigHost('hv4'), true).catch(() => undefined);
  await startLibvirtd(rigHost('hv4')).catch(() => undefined);
  await k?.stop();
  await files?.close();
  release();
});

describe.sequential('migrations whose hosts fail', () => {
  it(
    "the source's libvirtd dies: the VM stays on the source, the destination is clean",
    async () => {
      const id = await createVm('from-hv4', 'hv4');
      const opId = await migrating(id, 'hv3');
      await stopLibvirtd(rigHost('hv4'), 'SIGKILL');
      const t0 = Date.now();
      const op = await settled(k, opId, admin);
      console.log(`source killed: operation ended after ${Date.now() - t0} ms: ${op.error}`);
      expect(op.status).toBe('FAILED');
      expect(op.error).toMatch(/hv4|connection/i);
      expect(await onHost('hv3', id)).toEqual({ volumes: [], domain: null });
      await startLibvirtd(rigHost('hv4'));
      await until(
        async () => ((await vm(id)).state === 'RUNNING' ? true : undefined),
        BACK_MS,
        'the VM to be found running on hv4 again',
      );
      expect((await vm(id)).host.name).toBe('hv4');
      expect((await onHost('hv4', id)).domain).toBe('running');
    },
    BACK_MS + 60_000,
  );

  it(
    "the destination's libvirtd dies: the VM runs on at the source; the destination is cleaned once back",
    async () => {
      const id = await createVm('to-hv4', 'hv3');
      const opId = await migrating(id, 'hv4');
      await stopLibvirtd(rigHost('hv4'), 'SIGKILL');
      const op = await settled(k, opId, admin);
      expect(op.status).toBe('FAILED');
      expect(op.error).toMatch(/hv4|connection/i);
      expect(await vm(id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv3' } });
      expect((await onHost('hv3', id)).domain).toBe('running');
      await startLibvirtd(rigHost('hv4'));
      await until(
        async () => {
          const left = await onHost('hv4', id);
          return left.volumes.length === 0 && left.domain === null ? true : undefined;
        },
        BACK_MS,
        `hv4 to be clean of the VM; it has ${JSON.stringify(await onHost('hv4', id).catch(() => null))}`,
      );
      expect(await vm(id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv3' } });
    },
    BACK_MS + 60_000,
  );

  it(
    "the destination's network is cut during the copy: the migration stops, the VM runs on at the source",
    async () => {
      const id = await createVm('cut-off', 'hv3');
      const opId = await migrating(id, 'hv4');
      // The cable is out until the controller has noticed (keepalive), then back: QEMU's copy
      // on the source stalls on the silent socket until then, and aborting it needs the
      // socket to end.
      await setHostLink(rigHost('hv4'), false);
      try {
        await until(
          async () => {
            const h = await gql<{ node: { state: string } }>(
              'query($id: ID!) { node(id: $id) { ... on Host { state } } }',
              { id: hosts.get('hv4') },
            );
            return h.node.state === 'OFFLINE' ? true : undefined;
          },
          hungHostBoundMs() + 15_000,
          'hv4 to be seen OFFLINE',
        );
      } finally {
        await setHostLink(rigHost('hv4'), true);
      }
      const t0 = Date.now();
      const op = await settled(k, opId, admin);
      console.log(`link back: the operation ended ${Date.now() - t0} ms later: ${op.error}`);
      expect(op.status).toBe('FAILED');
      expect(op.error).toMatch(/connection to hv4 was lost/);
      expect(await vm(id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv3' } });
      expect((await onHost('hv3', id)).domain).toBe('running');
      await until(
        async () => {
          const left = await onHost('hv4', id);
          return left.volumes.length === 0 && left.domain === null ? true : undefined;
        },
        BACK_MS,
        'hv4 to be clean of the VM',
      );
    },
    hungHostBoundMs() + BACK_MS + 60_000,
  );
});
