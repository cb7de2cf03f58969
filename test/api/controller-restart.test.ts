// The controller killed (SIGKILL) in the middle of a migration and of a creation, then started
// again on the same data: the interrupted operations fail, the migrating VM is found running on
// exactly one host, and the half-made VM is removed from its host with nothing left behind.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Kumo, startKumo } from '../../src/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { type ControllerProcess, startControllerProcess } from '../support/controller-process.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until } from '../support/wait.ts';
import { ADMIN, rawId, tlsCredentialsInput, vmOnHost } from './support.ts';

const MiB = 1024n * 1024n;

let dataDir: string;
let configFile: string;
let files: FileServer;
let child: ControllerProcess | null = null;
let kumo: Kumo | null = null;
let url = '';
let token = '';
const conns = new Map<string, LibvirtConnection>();

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const r = (await res.json()) as { data?: T; errors?: unknown };
  if (!r.data || r.errors) throw new Error(JSON.stringify(r));
  return r.data;
}

async function signIn(): Promise<void> {
  token = '';
  const r = await gql<{ sessionCreate: { token: string } }>(
    'mutation($e: String!, $p: String!) { sessionCreate(input: {email: $e, password: $p}) { token } }',
    { e: ADMIN.email, p: ADMIN.password },
  );
  token = r.sessionCreate.token;
}

function onHost(host: string, vmId: string) {
  return vmOnHost(conns.get(host) as LibvirtConnection, vmId);
}

async function settledOp(id: string): Promise<{ status: string; error: string | null }> {
  return until(
    async () => {
      const r = await gql<{ node: { status: string; error: string | null } }>(
        'query($id: ID!) { node(id: $id) { ... on Operation { status error } } }',
        { id },
      );
      return r.node.status === 'RUNNING' || r.node.status === 'PENDING' ? undefined : r.node;
    },
    60_000,
    `operation ${id} to end`,
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kumo-restart-'));
  configFile = join(dataDir, 'kumo.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      admin: ADMIN,
      auth: { scryptLog2N: 10 },
      localLibvirtUri: 'qemu:///system?socket=/nonexistent/libvirt-sock',
      images: { allowedAddresses: ['127.0.0.1/32'] },
      vms: { network: 'kumo-guests', reconcileIntervalSeconds: 2 },
    }),
  );
  files = await serveFiles();
  files.route('/small.raw', bytes(Buffer.alloc(1024 * 1024)));
  // Big enough that copying it to a host takes a while: the creation is cut short in that copy.
  files.route('/big.raw', bytes(Buffer.alloc(512 * 1024 * 1024)));
  for (const name of ['hv1', 'hv2'] as const) {
    const conn = await openTls(rigHost(name));
    conns.set(name, conn);
    await ensureGuestNetwork(conn);
  }
}, 60_000);

afterAll(async () => {
  await child?.kill();
  await kumo?.stop();
  await files?.close();
  for (const c of conns.values()) await c.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a controller killed mid-operation and started again', () => {
  it('fails the interrupted operations and settles their VMs on the hosts', async () => {
    // Its own process, as `npm start` runs it, so that it can be killed.
    child = await startControllerProcess(configFile);
    url = child.url;
    await signIn();
    const hosts = new Map<string, string>();
    for (const name of ['hv1', 'hv2']) {
      const r = await gql<{ hostAdd: { host: { id: string } } }>(
        'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } } }',
        {
          input: {
            name,
            uri: `qemu+tls://${rigHost(name as 'hv1').ip}/system`,
            credentials: tlsCredentialsInput(rig().pki.clientDir),
          },
        },
      );
      hosts.set(name, r.hostAdd.host.id);
      await gql(
        'mutation($id: ID!) { hostUpdate(input: {id: $id, cpuOvercommit: 8}) { host { id } } }',
        {
          id: r.hostAdd.host.id,
        },
      );
    }
    const image = async (path: string, name: string) => {
      const r = await gql<{ imageImport: { image: { id: string }; operation: { id: string } } }>(
        'mutation($url: String!, $name: String!) { imageImport(input: {url: $url, name: $name}) { image { id } operation { id } } }',
        { url: `${files.base}${path}`, name },
      );
      expect((await settledOp(r.imageImport.operation.id)).status).toBe('SUCCEEDED');
      return r.imageImport.image.id;
    };
    const small = await image('/small.raw', 'small');
    const big = await image('/big.raw', 'big');
    const create = async (img: string, name: string, host: string, memory = 256n) =>
      gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
        'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
        {
          input: {
            image: img,
            name,
            vcpus: 1,
            memoryBytes: String(memory * MiB),
            host: hosts.get(host),
          },
        },
      );
    const moving = await create(small, 'moving', 'hv1');
    expect((await settledOp(moving.vmCreate.operation.id)).status).toBe('SUCCEEDED');
    const mig = await gql<{ vmMigrate: { operation: { id: string } } }>(
      'mutation($input: VmMigrateInput!) { vmMigrate(input: $input) { operation { id } } }',
      { input: { id: moving.vmCreate.vm.id, host: hosts.get('hv2'), bandwidthMiBs: 1 } },
    );
    await until(
      async () => {
        const r = await gql<{ node: { migration: { phase: string } | null } }>(
          'query($id: ID!) { node(id: $id) { ... on Operation { migration { phase } } } }',
          { id: mig.vmMigrate.operation.id },
        );
        return r.node.migration?.phase.startsWith('COPYING') ? true : undefined;
      },
      30_000,
      'the migration to be copying',
    );
    const half = await create(big, 'half-made', 'hv2', 64n);
    await until(
      async () => {
        const r = await gql<{ node: { phase: string | null } }>(
          'query($id: ID!) { node(id: $id) { ... on Operation { phase } } }',
          { id: half.vmCreate.operation.id },
        );
        return r.node.phase?.includes('copying the image') ? true : undefined;
      },
      30_000,
      'the creation to be copying its image',
    );

    await child.kill();

    kumo = await startKumo(loadConfig({ file: configFile, env: {} }));
    url = kumo.server.url;
    await signIn();
    for (const op of [mig.vmMigrate.operation.id, half.vmCreate.operation.id]) {
      expect(await settledOp(op)).toMatchObject({
        status: 'FAILED',
        error: expect.stringMatching(/controller stopped/),
      });
    }
    // The migrating VM runs in exactly one place, and the database says which.
    const vm = await until(
      async () => {
        const r = await gql<{ node: { state: string; host: { name: string } } }>(
          'query($id: ID!) { node(id: $id) { ... on Vm { state host { name } } } }',
          { id: moving.vmCreate.vm.id },
        );
        return r.node.state === 'RUNNING' ? r.node : undefined;
      },
      60_000,
      'the moved VM to be found running',
    );
    const other = vm.host.name === 'hv1' ? 'hv2' : 'hv1';
    expect((await onHost(vm.host.name, moving.vmCreate.vm.id)).domain).toBe('running');
    await until(
      async () => {
        const left = await onHost(other, moving.vmCreate.vm.id);
        return left.domain === null && left.volumes.length === 0 ? true : undefined;
      },
      60_000,
      `${other} to be clean of the moved VM`,
    );
    // The half-made VM is gone, row and volumes, and so is the image copy cut short.
    await until(
      async () => {
        const r = await gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', {
          id: half.vmCreate.vm.id,
        });
        const left = await onHost('hv2', half.vmCreate.vm.id);
        return r.node === null && left.volumes.length === 0 && left.domain === null
          ? true
          : undefined;
      },
      60_000,
      'the half-made VM to be removed',
    );
    await until(
      async () => {
        const pool = await conns.get('hv2')?.storage.lookupPool('kumo');
        if (!pool) return undefined;
        await conns.get('hv2')?.storage.refreshPool(pool);
        const names = (await conns.get('hv2')?.storage.listVolumes(pool))?.map((v) => v.name);
        return names?.includes(`img-${rawId(big)}`) ? undefined : true;
      },
      60_000,
      'the cut-short image copy to be removed',
    );
  }, 300_000);
});
