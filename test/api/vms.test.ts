import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until, within } from '../support/wait.ts';
import {
  ADMIN,
  addUser,
  codeOf,
  connectConsole,
  gqlData,
  importImage,
  rawId,
  settled,
  sshPublicKey,
  startTestKumo,
  subscriber,
  type TestKumo,
  tlsCredentialsInput,
} from './support.ts';

const MiB = 1024n * 1024n;
// No OS: SeaBIOS finds nothing to boot and waits, which is all the life cycle needs.
const DISK = Buffer.alloc(1024 * 1024);
const POOL = 'kumo';

const VM_FIELDS = `id name state stateReason vcpus maxVcpus memoryBytes maxMemoryBytes diskBytes
  mac myRole host { name } image { name } owner { email }`;
const CREATE = `mutation($input: VmCreateInput!) { vmCreate(input: $input) {
  vm { ${VM_FIELDS} } operation { id } userErrors { code field message } } }`;
const VM = `query($id: ID!) { node(id: $id) { ... on Vm { ${VM_FIELDS} } } }`;

interface VmView {
  id: string;
  name: string;
  state: string;
  stateReason: string;
  vcpus: number;
  maxVcpus: number;
  memoryBytes: string;
  maxMemoryBytes: string;
  mac: string;
  myRole: string | null;
  host: { name: string } | null;
  image: { name: string } | null;
}
interface UserErrorView {
  code: string;
  field: string | null;
  message: string;
}

let k: TestKumo;
let files: FileServer;
let admin: string;
let alice: string;
let bob: string;
let imageId: string;
const conns = new Map<string, LibvirtConnection>();

const gql = <T>(query: string, variables: Record<string, unknown>, token: string) =>
  gqlData<T>(k, query, variables, token);

async function create(token: string, input: Record<string, unknown>) {
  const r = await gql<{
    vmCreate: { vm: VmView | null; operation: { id: string } | null; userErrors: UserErrorView[] };
  }>(
    CREATE,
    { input: { image: imageId, vcpus: 1, memoryBytes: String(64n * MiB), ...input } },
    token,
  );
  return r.data?.vmCreate as NonNullable<typeof r.data>['vmCreate'];
}

async function createSettled(token: string, input: Record<string, unknown>): Promise<VmView> {
  const out = await create(token, input);
  expect(out.userErrors).toEqual([]);
  const op = await settled(k, out.operation?.id as string, token);
  expect(op.error).toBeNull();
  expect(op.status).toBe('SUCCEEDED');
  return vm(out.vm?.id as string, token);
}

async function vm(id: string, token: string): Promise<VmView> {
  const r = await gql<{ node: VmView | null }>(VM, { id }, token);
  return r.data?.node as VmView;
}

async function act(name: string, id: string, token: string) {
  const r = await k.gql<Record<string, { vm: VmView | null; userErrors: UserErrorView[] }>>(
    `mutation($id: ID!) { ${name}(input: {id: $id}) { vm { state } userErrors { code field message } } }`,
    { id },
    token,
  );
  return r;
}

// watchStates subscribes to one VM's state changes as `token` and collects the states seen.
function watchStates(token: string, vmId: string) {
  const client = subscriber(k, token);
  const seen: string[] = [];
  const stream = (async () => {
    for await (const r of client.iterate<{ vmStateChanged: { state: string } }>({
      query: 'subscription($id: ID) { vmStateChanged(vm: $id) { state previous reason } }',
      variables: { id: vmId },
    })) {
      seen.push(r.data?.vmStateChanged.state as string);
    }
  })();
  return {
    seen,
    close: async () => {
      await client.dispose();
      await stream.catch(() => undefined);
    },
  };
}

async function onHost(host: string) {
  const conn = conns.get(host) as LibvirtConnection;
  let volumes: string[] = [];
  try {
    const pool = await conn.storage.lookupPool(POOL);
    await conn.storage.refreshPool(pool);
    volumes = (await conn.storage.listVolumes(pool)).map((v) => v.name);
  } catch (err) {
    // No VM was ever made on the host by any test: Kumo has not created its pool there.
    if (!isNotFound(err)) throw err;
  }
  const domains = (await conn.domains.list()).map((d) => d.name);
  return { conn, volumes, domains };
}

async function domainGone(host: string, name: string): Promise<boolean> {
  try {
    await conns.get(host)?.domains.lookupByName(name);
    return false;
  } catch (err) {
    if (isNotFound(err)) return true;
    throw err;
  }
}

beforeAll(async () => {
  files = await serveFiles();
  files.route('/disk.raw', bytes(DISK));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', reconcileIntervalSeconds: 3600, shutdownTimeoutSeconds: 2 },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  alice = await addUser(k, admin, 'alice');
  bob = await addUser(k, admin, 'bob');
  for (const name of ['hv1', 'hv2'] as const) {
    const h = rigHost(name);
    const conn = await openTls(h);
    conns.set(name, conn);
    await ensureGuestNetwork(conn);
    const added = await gql<{ hostAdd: { host: { id: string }; userErrors: unknown[] } }>(
      'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
      {
        input: {
          name,
          uri: `qemu+tls://${h.ip}/system`,
          credentials: tlsCredentialsInput(rig().pki.clientDir),
        },
      },
      admin,
    );
    expect(added.data?.hostAdd.userErrors).toEqual([]);
    // The rig's hosts have few CPUs; VMs that idle in their BIOS can share them.
    await gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, cpuOvercommit: 8}) { host { id } } }',
      { id: added.data?.hostAdd.host.id },
      admin,
    );
  }
  imageId = await importImage(k, alice, `${files.base}/disk.raw`, 'blank');
}, 120_000);

afterAll(async () => {
  await k?.stop();
  await files?.close();
  for (const c of conns.values()) await c.close();
});

describe('VMs on the rig', () => {
  let web: VmView;

  it('creates a VM: a copy-on-write disk on the cached image, a seed, a running domain', async () => {
    web = await createSettled(alice, {
      name: 'web <1> & "friends"',
      maxVcpus: 2,
      maxMemoryBytes: String(128n * MiB),
      sshKeys: [sshPublicKey('alice@laptop')],
    });
    expect(web).toMatchObject({
      name: 'web <1> & "friends"',
      state: 'RUNNING',
      vcpus: 1,
      maxVcpus: 2,
      memoryBytes: String(64n * MiB),
      maxMemoryBytes: String(128n * MiB),
      myRole: 'OWNER',
      image: { name: 'blank' },
    });
    expect(web.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    const host = web.host?.name as string;
    const id = rawId(web.id);
    const { conn, volumes } = await onHost(host);
    expect(volumes).toEqual(
      expect.arrayContaining([`vm-${id}.qcow2`, `vm-${id}-seed.iso`, `img-${rawId(imageId)}`]),
    );
    const dom = await conn.domains.lookupByName(`kumo-${id}`);
    expect((await conn.domains.state(dom)).state).toBe('running');
    const xml = await conn.domains.xml(dom);
    expect(xml).toContain('<title>web &lt;1&gt; &amp; &quot;friends&quot;</title>');
    expect(xml).toMatch(
      new RegExp(
        `<backingStore type='file'[^>]*>\\s*<format type='raw'/>\\s*<source file='[^']*/img-${rawId(imageId)}'`,
      ),
    );
  });

  it('runs the life cycle, refusing transitions that make no sense', async () => {
    const expectState = async (mutation: string, state: string) => {
      const r = await act(mutation, web.id, alice);
      expect(r.data?.[mutation]?.userErrors, mutation).toEqual([]);
      expect(r.data?.[mutation]?.vm?.state, mutation).toBe(state);
    };
    await expectState('vmSuspend', 'PAUSED');
    await expectState('vmResume', 'RUNNING');
    const again = await act('vmResume', web.id, alice);
    expect(again.data?.vmResume?.userErrors).toEqual([
      expect.objectContaining({ code: 'INVALID_STATE', message: expect.stringMatching(/running/) }),
    ]);
    await expectState('vmReboot', 'RUNNING');
    await expectState('vmPowerOff', 'STOPPED');
    expect((await act('vmPowerOff', web.id, alice)).data?.vmPowerOff?.userErrors[0]?.code).toBe(
      'INVALID_STATE',
    );
    await expectState('vmStart', 'RUNNING');
  });

  it('shuts down through ACPI, forcing off a guest that does not answer in time', async () => {
    const r = await gql<{ vmShutdown: { operation: { id: string }; userErrors: unknown[] } }>(
      'mutation($id: ID!) { vmShutdown(input: {id: $id, timeoutSeconds: 1}) { operation { id } userErrors { code message } } }',
      { id: web.id },
      alice,
    );
    expect(r.data?.vmShutdown.userErrors).toEqual([]);
    const op = await settled(k, r.data?.vmShutdown.operation.id as string, alice);
    expect(op).toMatchObject({ status: 'SUCCEEDED', phase: 'forcing off' });
    expect(await vm(web.id, alice)).toMatchObject({
      state: 'STOPPED',
      stateReason: expect.stringMatching(/forced off/),
    });
  });

  it('resizes live within the ceilings and at the next boot beyond them', async () => {
    await act('vmStart', web.id, alice);
    const RESIZE = `mutation($input: VmResizeInput!) { vmResize(input: $input) {
      appliedAt vm { vcpus maxVcpus memoryBytes maxMemoryBytes } userErrors { code message } } }`;
    const live = await gql<{ vmResize: Record<string, unknown> }>(
      RESIZE,
      { input: { id: web.id, memoryBytes: String(128n * MiB) } },
      alice,
    );
    expect(live.data?.vmResize).toMatchObject({
      appliedAt: 'LIVE',
      vm: { memoryBytes: String(128n * MiB) },
      userErrors: [],
    });
    const later = await gql<{ vmResize: Record<string, unknown> }>(
      RESIZE,
      { input: { id: web.id, memoryBytes: String(192n * MiB) } },
      alice,
    );
    expect(later.data?.vmResize).toMatchObject({
      appliedAt: 'NEXT_BOOT',
      vm: { memoryBytes: String(192n * MiB), maxMemoryBytes: String(192n * MiB) },
      userErrors: [],
    });
  });

  it('takes, lists, reverts to and deletes snapshots (with memory while running)', async () => {
    const TAKE = `mutation($vm: ID!, $name: String!) { vmSnapshotCreate(input: {vm: $vm, name: $name, description: "<before>"}) {
      snapshot { id name description withMemory } userErrors { code field message } } }`;
    const taken = await gql<{
      vmSnapshotCreate: {
        snapshot: { id: string; withMemory: boolean } | null;
        userErrors: unknown[];
      };
    }>(TAKE, { vm: web.id, name: 'before' }, alice);
    expect(taken.data?.vmSnapshotCreate).toMatchObject({
      snapshot: { name: 'before', description: '<before>', withMemory: true },
      userErrors: [],
    });
    const again = await gql<{ vmSnapshotCreate: { userErrors: UserErrorView[] } }>(
      TAKE,
      { vm: web.id, name: 'before' },
      alice,
    );
    expect(again.data?.vmSnapshotCreate.userErrors[0]?.code).toBe('CONFLICT');
    const listed = await gql<{ node: { snapshots: Array<{ name: string }> } }>(
      'query($id: ID!) { node(id: $id) { ... on Vm { snapshots { name } } } }',
      { id: web.id },
      alice,
    );
    expect(listed.data?.node.snapshots.map((x) => x.name)).toEqual(['before']);

    await act('vmPowerOff', web.id, alice);
    const snapId = taken.data?.vmSnapshotCreate.snapshot?.id as string;
    const reverted = await gql<{
      vmSnapshotRevert: { vm: { state: string }; userErrors: unknown[] };
    }>(
      'mutation($id: ID!) { vmSnapshotRevert(input: {id: $id}) { vm { state } userErrors { code message } } }',
      { id: snapId },
      alice,
    );
    // The snapshot holds the running guest's memory: reverting brings it back running.
    expect(reverted.data?.vmSnapshotRevert).toEqual({ vm: { state: 'RUNNING' }, userErrors: [] });
    const deleted = await gql<{
      vmSnapshotDelete: { deletedSnapshotId: string; userErrors: unknown[] };
    }>(
      'mutation($id: ID!) { vmSnapshotDelete(input: {id: $id}) { deletedSnapshotId userErrors { code message } } }',
      { id: snapId },
      alice,
    );
    expect(deleted.data?.vmSnapshotDelete).toEqual({ deletedSnapshotId: snapId, userErrors: [] });
    const conn = conns.get(web.host?.name as string) as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(web.id)}`);
    expect(await conn.snapshots.list(dom)).toEqual([]);
  });

  it('shares a VM: VIEWER sees it, OPERATOR runs it, unsharing takes both away', async () => {
    expect(await vm(web.id, bob)).toBeNull();
    const SHARE =
      'mutation($id: ID!, $role: Role!) { vmShare(input: {id: $id, email: "bob@kumo.test", role: $role}) { userErrors { code } } }';
    await gql(SHARE, { id: web.id, role: 'VIEWER' }, alice);
    expect(await vm(web.id, bob)).toMatchObject({ myRole: 'VIEWER', state: 'RUNNING' });
    const denied = await act('vmSuspend', web.id, bob);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await gql(SHARE, { id: web.id, role: 'OPERATOR' }, alice);
    const bobs = watchStates(bob, web.id);
    const alices = watchStates(alice, web.id);
    // Subscriptions register lazily: act until both have seen a suspension, then leave it PAUSED.
    await until(
      async () => {
        if (bobs.seen.includes('PAUSED') && alices.seen.includes('PAUSED')) return true;
        const paused = (await vm(web.id, alice)).state === 'PAUSED';
        await act(paused ? 'vmResume' : 'vmSuspend', web.id, bob);
        return undefined;
      },
      10_000,
      'bob to see PAUSED',
    );
    if ((await vm(web.id, alice)).state !== 'PAUSED')
      expect((await act('vmSuspend', web.id, bob)).data?.vmSuspend?.vm?.state).toBe('PAUSED');

    await gql(
      'mutation($id: ID!) { vmUnshare(input: {id: $id, email: "bob@kumo.test"}) { userErrors { code } } }',
      { id: web.id },
      alice,
    );
    const count = bobs.seen.length;
    const alicesBefore = alices.seen.length;
    await act('vmResume', web.id, alice);
    // Alice's subscription sees the resume: Bob's, on the same bus, has had it too, and dropped it.
    await until(
      async () => (alices.seen.slice(alicesBefore).includes('RUNNING') ? true : undefined),
      10_000,
      'alice to see RUNNING',
    );
    expect(bobs.seen.length).toBe(count);
    expect(await vm(web.id, bob)).toBeNull();
    await bobs.close();
    await alices.close();
  });

  it("streams a VM's serial console as lines, to operators", async () => {
    const client = subscriber(k, alice);
    const lines: string[] = [];
    const banner = () => lines.some((l) => l.includes('SeaBIOS'));
    const reading = (async () => {
      for await (const r of client.iterate<{ vmConsole: string }>({
        query: 'subscription($id: ID!) { vmConsole(vm: $id) }',
        variables: { id: web.id },
      })) {
        if (r.errors) throw new Error(JSON.stringify(r.errors));
        lines.push(r.data?.vmConsole as string);
        if (banner()) return;
      }
    })();
    // A reset (done on the host: a guest without an OS ignores ACPI) makes the firmware print
    // its banner again. The console attaches lazily, so reset until the banner comes through.
    const conn = conns.get(web.host?.name as string) as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(web.id)}`);
    await until(
      async () => {
        await conn.remote.domainReset({ dom: dom.handle, flags: 0 });
        return until(async () => (banner() ? true : undefined), 3000, 'the banner').catch(
          () => undefined,
        );
      },
      20_000,
      `the BIOS banner; saw ${JSON.stringify(lines)}`,
    );
    await within(reading, 5000, 'the console subscription to end');
    expect(lines.some((l) => l.includes('SeaBIOS'))).toBe(true);
    await client.dispose();
  });

  it('serves an interactive console by single-use ticket to operators, shared with line readers', async () => {
    const TICKET = `mutation($id: ID!) { vmConsoleOpen(input: {id: $id}) {
      console { path expiresAt } userErrors { code field message } } }`;
    type Opened = {
      vmConsoleOpen: {
        console: { path: string; expiresAt: string } | null;
        userErrors: UserErrorView[];
      };
    };
    const share = (role: string) =>
      gql(
        'mutation($id: ID!, $role: Role!) { vmShare(input: {id: $id, email: "bob@kumo.test", role: $role}) { userErrors { code } } }',
        { id: web.id, role },
        alice,
      );
    // Bob has no role: for him there is no such VM. As VIEWER he may look, not type.
    const none = await k.gql<Opened>(TICKET, { id: web.id }, bob);
    expect(none.data?.vmConsoleOpen.userErrors[0]?.code).toBe('NOT_FOUND');
    await share('VIEWER');
    expect(codeOf(await k.gql<Opened>(TICKET, { id: web.id }, bob))).toBe('FORBIDDEN');
    await share('OPERATOR');
    const opened = await k.gql<Opened>(TICKET, { id: web.id }, bob);
    const ticket = opened.data?.vmConsoleOpen.console as { path: string; expiresAt: string };
    expect(ticket.path).toMatch(/^\/console\?ticket=kumo_/);
    expect(Date.parse(ticket.expiresAt)).toBeGreaterThan(Date.now());
    const ws = await connectConsole(k, ticket.path);
    // A ticket works once; a made-up one never.
    await expect(connectConsole(k, ticket.path)).rejects.toThrow(/console refused: 401/);
    await expect(connectConsole(k, '/console?ticket=kumo_nonsense')).rejects.toThrow(/401/);
    let typed = '';
    ws.on('message', (d: Buffer) => {
      typed += d.toString('latin1');
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

    // Alice reads the same console as lines meanwhile: both see the firmware after a reset.
    const client = subscriber(k, alice);
    const lines: string[] = [];
    const reading = (async () => {
      for await (const r of client.iterate<{ vmConsole: string }>({
        query: 'subscription($id: ID!) { vmConsole(vm: $id) }',
        variables: { id: web.id },
      })) {
        lines.push(r.data?.vmConsole as string);
      }
    })();
    const conn = conns.get(web.host?.name as string) as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(web.id)}`);
    const both = () => typed.includes('SeaBIOS') && lines.some((l) => l.includes('SeaBIOS'));
    await until(
      async () => {
        await conn.remote.domainReset({ dom: dom.handle, flags: 0 });
        return until(async () => (both() ? true : undefined), 3000, 'the banner').catch(
          () => undefined,
        );
      },
      20_000,
      `the BIOS banner on both; saw ${JSON.stringify({ typed, lines })}`,
    );

    // Taking Bob's role away closes his console at its next check; Alice keeps reading.
    await gql(
      'mutation($id: ID!) { vmUnshare(input: {id: $id, email: "bob@kumo.test"}) { userErrors { code } } }',
      { id: web.id },
      alice,
    );
    expect(await within(closed, 15_000, "Bob's console to close")).toBe(4403);
    const before = lines.length;
    await conn.remote.domainReset({ dom: dom.handle, flags: 0 });
    await until(async () => (lines.length > before ? true : undefined), 10_000, 'more lines');
    await client.dispose();
    await reading.catch(() => undefined);
  });

  it('notices what happens to a domain behind its back', async () => {
    const host = web.host?.name as string;
    const conn = conns.get(host) as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(web.id)}`);
    await conn.domains.destroy(dom);
    await until(
      async () => ((await vm(web.id, alice)).state === 'STOPPED' ? true : undefined),
      10_000,
      'the event to mark the VM STOPPED',
    );
    const r = await k.gql<{ vmConsoleOpen: { userErrors: UserErrorView[] } }>(
      'mutation($id: ID!) { vmConsoleOpen(input: {id: $id}) { userErrors { code field message } } }',
      { id: web.id },
      alice,
    );
    expect(r.data?.vmConsoleOpen.userErrors[0]).toMatchObject({
      code: 'INVALID_STATE',
      field: 'input.id',
    });
  });

  it('refuses bad input with typed errors', async () => {
    const cases: Array<[Record<string, unknown>, string, string | null, string]> = [
      [{ vcpus: 0 }, 'INVALID', 'input.vcpus', alice],
      [{ memoryBytes: String(64n * MiB + 1n) }, 'INVALID', 'input.memoryBytes', alice],
      [{ memoryBytes: String(1n << 60n) }, 'INVALID', 'input.memoryBytes', alice],
      [{ diskBytes: '1024' }, 'INVALID', 'input.diskBytes', alice],
      [{ name: '' }, 'INVALID', 'input.name', alice],
      [{ name: 'bad\nname' }, 'INVALID', 'input.name', alice],
      [{ sshKeys: ['ssh-ed25519 AAAA not-a-key'] }, 'INVALID', 'input.sshKeys.0', alice],
      // Bob has no role on Alice's private image: for him it does not exist.
      [{}, 'NOT_FOUND', 'id', bob],
    ];
    for (const [input, code, field, token] of cases) {
      const out = await create(token, { name: 'x', ...input });
      expect(out.userErrors, JSON.stringify(input)).toEqual([
        expect.objectContaining({ code, field }),
      ]);
      expect(out.vm).toBeNull();
    }
    const unknown = await k.gql(
      CREATE,
      {
        input: {
          image: 'SW1hZ2U6MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAw',
          name: 'x',
          vcpus: 1,
          memoryBytes: String(64n * MiB),
        },
      },
      alice,
    );
    expect(JSON.stringify(unknown)).toMatch(/NOT_FOUND/);
    const hosts = await gql<{ hosts: { edges: Array<{ node: { id: string } }> } }>(
      '{ hosts(first: 5) { edges { node { id } } } }',
      {},
      alice,
    );
    const pinned = await k.gql(
      CREATE,
      {
        input: {
          image: imageId,
          name: 'x',
          vcpus: 1,
          memoryBytes: String(64n * MiB),
          host: hosts.data?.hosts.edges[0]?.node.id,
        },
      },
      alice,
    );
    expect(pinned.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Only admins migrate, unless the config lets owners (vms.ownersMayMigrate, off by default).
    const moved = await k.gql(
      'mutation($id: ID!) { vmMigrate(input: {id: $id}) { operation { id } userErrors { code } } }',
      { id: web.id },
      alice,
    );
    expect(moved.errors?.[0]).toMatchObject({
      message: 'only admins may migrate VMs here',
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it('gives the last free memory of a host to exactly one of two concurrent creates, and shows admins what VMs hold', async () => {
    interface Allocation {
      vms: number;
      vcpus: number;
      memoryBytes: string;
      vcpuCapacity: number;
      memoryCapacityBytes: string;
    }
    interface HostNode {
      id: string;
      name: string;
      facts: { memoryBytes: number; cpus: number };
      allocation: Allocation;
    }
    const readHosts = async () =>
      (
        await gql<{ hosts: { edges: Array<{ node: HostNode }> } }>(
          `{ hosts(first: 5) { edges { node { id name facts { memoryBytes cpus }
            allocation { vms vcpus memoryBytes vcpuCapacity memoryCapacityBytes } } } } }`,
          {},
          admin,
        )
      ).data?.hosts.edges.map((e) => e.node) ?? [];
    // The host without the other test VM, whose room is all its own.
    const hv2 = (await readHosts()).find((h) => h.name !== web.host?.name) as HostNode;
    expect(hv2.allocation).toEqual({
      vms: 0,
      vcpus: 0,
      memoryBytes: '0',
      vcpuCapacity: hv2.facts.cpus * 8,
      memoryCapacityBytes: String(hv2.facts.memoryBytes),
    });
    // How full the hosts are is for admins.
    const byAlice = await k.gql(
      '{ hosts(first: 5) { edges { node { allocation { vms } } } } }',
      {},
      alice,
    );
    expect(codeOf(byAlice)).toBe('FORBIDDEN');
    const share = (BigInt(Math.floor(hv2.facts.memoryBytes * 0.6)) / MiB) * MiB;
    const input = { host: hv2.id, memoryBytes: String(share), start: false };
    const [a, b] = await Promise.all([
      create(admin, { ...input, name: 'big-a' }),
      create(admin, { ...input, name: 'big-b' }),
    ]);
    const won = [a, b].filter((x) => x.userErrors.length === 0);
    const lost = [a, b].filter((x) => x.userErrors.length > 0);
    expect(won).toHaveLength(1);
    expect(lost[0]?.userErrors).toEqual([expect.objectContaining({ code: 'UNAVAILABLE' })]);
    const winner = won[0] as (typeof won)[number];
    expect((await settled(k, winner.operation?.id as string, admin)).status).toBe('SUCCEEDED');
    expect(await vm(winner.vm?.id as string, admin)).toMatchObject({ state: 'STOPPED' });
    // A stopped VM holds its room all the same.
    expect((await readHosts()).find((h) => h.id === hv2.id)?.allocation).toMatchObject({
      vms: 1,
      vcpus: 1,
      memoryBytes: String(share),
    });
    const removed = await gql<{ vmRemove: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: winner.vm?.id },
      admin,
    );
    expect(removed.data?.vmRemove.userErrors).toEqual([]);
  });

  it('clones a VM copy-on-write, pausing a running source only when asked', async () => {
    await act('vmStart', web.id, alice);
    const CLONE = `mutation($input: VmCloneInput!) { vmClone(input: $input) {
      vm { id } operation { id } sourcePaused userErrors { code message } } }`;
    const refused = await gql<{ vmClone: { userErrors: UserErrorView[] } }>(
      CLONE,
      { input: { id: web.id, name: 'web-copy' } },
      alice,
    );
    expect(refused.data?.vmClone.userErrors[0]?.code).toBe('INVALID_STATE');
    const r = await gql<{
      vmClone: {
        vm: { id: string };
        operation: { id: string };
        sourcePaused: boolean;
        userErrors: unknown[];
      };
    }>(CLONE, { input: { id: web.id, name: 'web-copy', pauseSource: true } }, alice);
    expect(r.data?.vmClone).toMatchObject({ sourcePaused: true, userErrors: [] });
    const op = await settled(k, r.data?.vmClone.operation.id as string, alice);
    expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
    const copy = await vm(r.data?.vmClone.vm.id as string, alice);
    expect(copy).toMatchObject({
      name: 'web-copy',
      state: 'STOPPED',
      host: web.host,
      image: { name: 'blank' },
    });
    expect(copy.mac).not.toBe(web.mac);
    expect((await vm(web.id, alice)).state).toBe('RUNNING');
    const { volumes } = await onHost(web.host?.name as string);
    expect(volumes).toContain(`vm-${rawId(copy.id)}.qcow2`);
    expect((await act('vmStart', copy.id, alice)).data?.vmStart?.vm?.state).toBe('RUNNING');
    const removed = await gql<{ vmRemove: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: copy.id },
      alice,
    );
    expect(removed.data?.vmRemove.userErrors).toEqual([]);
  });

  it('saves a VM as a new image, and a VM made from that image runs', async () => {
    const SAVE = `mutation($input: VmSaveAsImageInput!) { vmSaveAsImage(input: $input) {
      image { id state } operation { id } userErrors { code message } } }`;
    const refused = await gql<{ vmSaveAsImage: { userErrors: UserErrorView[] } }>(
      SAVE,
      { input: { id: web.id, name: 'web-image' } },
      alice,
    );
    expect(refused.data?.vmSaveAsImage.userErrors[0]?.code).toBe('INVALID_STATE');
    const r = await gql<{
      vmSaveAsImage: { image: { id: string }; operation: { id: string }; userErrors: unknown[] };
    }>(SAVE, { input: { id: web.id, name: 'web-image', shutdown: true } }, alice);
    expect(r.data?.vmSaveAsImage.userErrors).toEqual([]);
    const op = await settled(k, r.data?.vmSaveAsImage.operation.id as string, alice);
    expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
    const saved = r.data?.vmSaveAsImage.image.id as string;
    const img = await gql<{
      node: { state: string; format: string; virtualSizeBytes: string; myRole: string };
    }>(
      'query($id: ID!) { node(id: $id) { ... on Image { state format virtualSizeBytes myRole } } }',
      { id: saved },
      alice,
    );
    expect(img.data?.node).toEqual({
      state: 'AVAILABLE',
      format: 'qcow2',
      virtualSizeBytes: String(DISK.length),
      myRole: 'OWNER',
    });
    expect((await vm(web.id, alice)).state).toBe('STOPPED');
    const child = await createSettled(alice, { image: saved, name: 'from-saved' });
    expect(child).toMatchObject({ state: 'RUNNING', image: { name: 'web-image' } });
    await gql(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { code } } }',
      { id: child.id },
      alice,
    );
    const gone = await gql<{ imageRemove: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { imageRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: saved },
      alice,
    );
    expect(gone.data?.imageRemove.userErrors).toEqual([]);
    for (const h of ['hv1', 'hv2'])
      expect((await onHost(h)).volumes).not.toContain(`img-${rawId(saved)}`);
  });

  it('removes VMs and, with the image, its copies: nothing is left on the hosts', async () => {
    const id = rawId(web.id);
    const host = web.host?.name as string;
    const refused = await gql<{ imageRemove: { userErrors: UserErrorView[] } }>(
      'mutation($id: ID!) { imageRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: imageId },
      alice,
    );
    expect(refused.data?.imageRemove.userErrors[0]?.code).toBe('REFUSED');
    const r = await gql<{ vmRemove: { removedVmId: string; userErrors: unknown[] } }>(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId userErrors { code message } } }',
      { id: web.id },
      alice,
    );
    expect(r.data?.vmRemove).toEqual({ removedVmId: web.id, userErrors: [] });
    expect(await domainGone(host, `kumo-${id}`)).toBe(true);
    expect((await onHost(host)).volumes.filter((v) => v.includes(id))).toEqual([]);

    const removed = await gql<{ imageRemove: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { imageRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: imageId },
      alice,
    );
    expect(removed.data?.imageRemove.userErrors).toEqual([]);
    for (const h of ['hv1', 'hv2'])
      expect((await onHost(h)).volumes).not.toContain(`img-${rawId(imageId)}`);
  });

  it("deletes a removed image's copy on a host that was away once it is back", async () => {
    const away = await importImage(k, alice, `${files.base}/disk.raw`, 'away');
    const hosts = await gql<{ hosts: { edges: Array<{ node: { id: string; name: string } }> } }>(
      '{ hosts { edges { node { id name } } } }',
      {},
      admin,
    );
    const hv2 = hosts.data?.hosts.edges.find((e) => e.node.name === 'hv2')?.node.id as string;
    const made = await createSettled(admin, {
      image: away,
      name: 'brief',
      host: hv2,
      start: false,
    });
    await gql(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId } }',
      { id: made.id },
      admin,
    );
    const copy = `img-${rawId(away)}`;
    expect((await onHost('hv2')).volumes).toContain(copy);

    const setEnabled = (enabled: boolean) =>
      gql(
        'mutation($id: ID!, $on: Boolean!) { hostUpdate(input: {id: $id, enabled: $on}) { host { state } } }',
        { id: hv2, on: enabled },
        admin,
      );
    await setEnabled(false);
    const removed = await gql<{ imageRemove: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { imageRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: away },
      alice,
    );
    expect(removed.data?.imageRemove.userErrors).toEqual([]);
    // Kumo could not reach hv2 to delete it: the copy waits there.
    expect((await onHost('hv2')).volumes).toContain(copy);
    await setEnabled(true);
    await until(
      async () => ((await onHost('hv2')).volumes.includes(copy) ? undefined : true),
      20_000,
      'the copy to be deleted once hv2 is back',
    );
  });
});

describe('a VM whose creation fails', () => {
  it('leaves no domain, volume or row behind', async () => {
    const broken = await startTestKumo(
      {},
      {
        overrides: {
          images: { allowedAddresses: ['127.0.0.1/32'] },
          vms: { network: 'no-such-network', reconcileIntervalSeconds: 3600 },
        },
      },
    );
    try {
      const token = await broken.signIn(ADMIN.email, ADMIN.password);
      const h = rigHost('hv1');
      await broken.gql(
        'mutation($input: HostAddInput!) { hostAdd(input: $input) { userErrors { code message } } }',
        {
          input: {
            name: 'hv1',
            uri: `qemu+tls://${h.ip}/system`,
            credentials: tlsCredentialsInput(rig().pki.clientDir),
          },
        },
        token,
      );
      const img = await importImage(broken, token, `${files.base}/disk.raw`, 'blank');
      const out = await broken.gql<{
        vmCreate: { vm: { id: string }; operation: { id: string }; userErrors: unknown[] };
      }>(
        CREATE,
        { input: { image: img, name: 'doomed', vcpus: 1, memoryBytes: String(64n * MiB) } },
        token,
      );
      const vmId = out.data?.vmCreate.vm.id as string;
      const op = await settled(broken, out.data?.vmCreate.operation.id as string, token);
      expect(op).toMatchObject({
        status: 'FAILED',
        error: expect.stringMatching(/no-such-network/),
      });
      const gone = await broken.gql<{ node: unknown }>(VM, { id: vmId }, token);
      expect(gone.data?.node).toBeNull();
      const id = rawId(vmId);
      expect(await domainGone('hv1', `kumo-${id}`)).toBe(true);
      expect((await onHost('hv1')).volumes.filter((v) => v.includes(id))).toEqual([]);
      await broken.gql(
        'mutation($id: ID!) { imageRemove(input: {id: $id}) { userErrors { code } } }',
        { id: img },
        token,
      );
      expect((await onHost('hv1')).volumes).not.toContain(`img-${rawId(img)}`);
    } finally {
      await broken.stop();
    }
  });
});
