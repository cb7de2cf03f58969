// Two controller processes on one PostgreSQL and one Redis, over two rig hosts: they share
// the hosts, an event caused through one reaches a subscriber of the other, a cancel sent to
// one stops an operation running on the other; one killed mid-operation is found dead, the
// other takes its hosts and settles its operations, and a replica that joins gets hosts back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  onTestFailed,
} from 'vitest';
import { createWebSocketStream, WebSocket } from 'ws';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import {
  ADMIN,
  consoleSocket,
  type GqlResult,
  postGql,
  rawId,
  sshPublicKey,
  tlsCredentialsInput,
  vmOnHost,
} from '../api/support.ts';
import { GuestConsole, guestImage } from '../guest/index.ts';
import { createTestDatabase, type TestDatabase } from '../pg/index.ts';
import { type ControllerProcess, startControllerProcess } from '../support/controller-process.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { displaySocket, rfbViewer } from '../support/rfb-client.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until, within } from '../support/wait.ts';

const pgUrl = inject('pgUrl');
const redisUrl = inject('redisUrl');
const MiB = 1024 * 1024;
const HEARTBEAT_S = 0.5;
const DEAD_AFTER_S = 3;
const BUILD_MS = 600_000;
const BOOT_MS = 180_000;

let db: TestDatabase;
let dataDir: string;
let files: FileServer;
const replicas = new Map<string, ControllerProcess>();
const conns = new Map<string, LibvirtConnection>();
const clients: Client[] = [];
let token = '';

// Each replica has its own config file; they share the data directory (secret key, images).
async function startReplica(name: string, extra: Record<string, unknown> = {}) {
  const file = join(dataDir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      database: { url: db.url },
      replicas: {
        redisUrl,
        redisPrefix: `kumo-test:${process.pid}:`,
        heartbeatSeconds: HEARTBEAT_S,
        deadAfterSeconds: DEAD_AFTER_S,
      },
      admin: ADMIN,
      auth: { scryptLog2N: 10 },
      localLibvirtUri: 'qemu:///system?socket=/nonexistent/libvirt-sock',
      images: { allowedAddresses: ['127.0.0.1/32'] },
      vms: { network: 'kumo-guests', reconcileIntervalSeconds: 2 },
      ...extra,
    }),
  );
  const p = await startControllerProcess(file);
  replicas.set(name, p);
  return p;
}

function on(name: string): string {
  const p = replicas.get(name);
  if (!p) throw new Error(`no replica ${name}`);
  return p.url;
}

async function gql<T>(at: string, query: string, variables: Record<string, unknown> = {}) {
  const r: GqlResult<T> = await postGql<T>(on(at), query, variables, token);
  if (!r.data || r.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(r)}`);
  return r.data;
}

async function operation(at: string, id: string) {
  const r = await gql<{ node: { status: string; error: string | null } }>(
    at,
    'query($id: ID!) { node(id: $id) { ... on Operation { status error } } }',
    { id },
  );
  return r.node;
}

async function ended(at: string, id: string) {
  return until(
    async () => {
      const op = await operation(at, id);
      return op.status === 'RUNNING' || op.status === 'PENDING' ? undefined : op;
    },
    60_000,
    `operation ${id} to end`,
  );
}

async function imageNames(at: string): Promise<string[]> {
  const r = await gql<{ images: { edges: Array<{ node: { name: string } }> } }>(
    at,
    '{ images(first: 10) { edges { node { name } } } }',
  );
  return r.images.edges.map((e) => e.node.name);
}

type OutputEvent =
  | { __typename: 'ExecLine'; seq: number; stream: string; text: string }
  | { __typename: 'ExecStateChange'; seq: number; state: string; exitCode: number | null }
  | { __typename: 'ExecGap'; seq: number };

type ReplicaRow = { replica: { id: string; name: string }; hosts: number; leads: boolean };

async function replicaRows(at: string): Promise<ReplicaRow[]> {
  return (
    await gql<{ replicas: ReplicaRow[] }>(at, '{ replicas { replica { id name } hosts leads } }')
  ).replicas;
}

async function holders(at: string): Promise<Map<string, string | null>> {
  const r = await gql<{
    hosts: { edges: Array<{ node: { name: string; replica: { id: string } | null } }> };
  }>(at, '{ hosts(first: 10) { edges { node { name replica { id } } } } }');
  return new Map(r.hosts.edges.map(({ node: h }) => [h.name, h.replica?.id ?? null]));
}

function subscriber(at: string): Client {
  const c = createClient({
    url: on(at).replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  clients.push(c);
  return c;
}

const ready = pgUrl !== null && redisUrl !== null;

beforeAll(async () => {
  if (!ready) return;
  db = await createTestDatabase(pgUrl);
  dataDir = mkdtempSync(join(tmpdir(), 'kumo-replicas-'));
  files = await serveFiles();
  files.route('/small.raw', bytes(Buffer.alloc(MiB)));
  files.route('/slow', (_req, res) => {
    res.writeHead(200, { 'content-length': 64 * MiB });
    res.write(Buffer.alloc(MiB));
    // ...and nothing more: the import waits until it is cancelled or its controller dies.
  });
  for (const name of ['hv1', 'hv2'] as const) {
    const conn = await openTls(rigHost(name));
    conns.set(name, conn);
    await ensureGuestNetwork(conn);
  }
  // A first, alone: it makes the secret key and the admin the others share.
  await startReplica('a');
  await startReplica('b');
  const r = await postGql<{ sessionCreate: { token: string } }>(
    on('a'),
    'mutation($e: String!, $p: String!) { sessionCreate(input: {email: $e, password: $p}) { token } }',
    { e: ADMIN.email, p: ADMIN.password },
  );
  token = r.data?.sessionCreate.token ?? '';
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  for (const p of replicas.values()) await p.stop();
  await files?.close();
  for (const c of conns.values()) await c.close();
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 120_000);

// What the replicas printed explains a failure better than the API's masked errors.
beforeEach(() => {
  onTestFailed(() => {
    for (const [name, p] of replicas)
      console.log(`--- replica ${name}:\n${p.output().slice(-8000)}`);
  });
});

describe.skipIf(!ready)('controller replicas', () => {
  const hosts = new Map<string, string>();
  let image = '';
  let vm = '';

  it('share the hosts, one each, and agree on who leads', async () => {
    for (const name of ['hv1', 'hv2'] as const) {
      const r = await gql<{ hostAdd: { host: { id: string } } }>(
        'a',
        'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } } }',
        {
          input: {
            name,
            uri: `qemu+tls://${rigHost(name).ip}/system`,
            credentials: tlsCredentialsInput(rig().pki.clientDir),
          },
        },
      );
      hosts.set(name, r.hostAdd.host.id);
    }
    const rows = await until(
      async () => {
        const rows = await replicaRows('b');
        return rows.length === 2 && rows.every((r) => r.hosts === 1) ? rows : undefined;
      },
      30_000,
      'each replica to hold one host',
    );
    expect(rows.map((r) => r.leads)).toEqual([true, false]);
    const held = await holders('a');
    expect(new Set(held.values()).size).toBe(2);
    // Both replicas know both hosts (the one added through A reached B's monitor).
    for (const at of ['a', 'b']) {
      const r = await gql<{ hosts: { edges: Array<{ node: { state: string } }> } }>(
        at,
        '{ hosts(first: 10) { edges { node { state } } } }',
      );
      expect(r.hosts.edges.map((e) => e.node.state)).toEqual(['ONLINE', 'ONLINE']);
    }
  });

  it('deliver on one replica the events caused through the other', async () => {
    const events: Array<{ state: string }> = [];
    const sub = subscriber('a');
    const done = new Promise<void>((resolve, reject) => {
      sub.subscribe<{ vmStateChanged: { state: string } }>(
        { query: 'subscription { vmStateChanged { state } }' },
        {
          next: (m) => {
            if (m.data) events.push(m.data.vmStateChanged);
            if (m.data?.vmStateChanged.state === 'RUNNING') resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    const imported = await gql<{
      imageImport: { image: { id: string }; operation: { id: string } };
    }>(
      'b',
      'mutation($url: String!) { imageImport(input: {url: $url, name: "small"}) { image { id } operation { id } } }',
      { url: `${files.base}/small.raw` },
    );
    expect((await ended('b', imported.imageImport.operation.id)).status).toBe('SUCCEEDED');
    image = imported.imageImport.image.id;
    const created = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
      'b',
      'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
      {
        input: {
          image,
          name: 'shared',
          vcpus: 1,
          memoryBytes: String(128 * MiB),
          host: hosts.get('hv1'),
        },
      },
    );
    vm = created.vmCreate.vm.id;
    expect((await ended('b', created.vmCreate.operation.id)).status).toBe('SUCCEEDED');
    await until(async () => (events.length > 0 ? true : undefined), 30_000, 'an event on A');
    await done;
    expect(events.at(-1)?.state).toBe('RUNNING');
  });

  it('cancel through one replica an operation running on the other', async () => {
    const started = await gql<{ imageImport: { operation: { id: string } } }>(
      'a',
      'mutation($url: String!) { imageImport(input: {url: $url, name: "stuck"}) { operation { id } } }',
      { url: `${files.base}/slow` },
    );
    const id = started.imageImport.operation.id;
    const cancelled = await gql<{ operationCancel: { operation: { status: string } | null } }>(
      'b',
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { operation { status } } }',
      { id },
    );
    expect(cancelled.operationCancel.operation?.status).toBe('CANCELLED');
    expect(await imageNames('b')).toEqual(['small']);
  });

  it('take over the hosts and operations of a replica that died', async () => {
    const a = (await replicaRows('b')).find((r) => r.leads)?.replica.id;
    const stuck = await gql<{ imageImport: { operation: { id: string } } }>(
      'a',
      'mutation($url: String!) { imageImport(input: {url: $url, name: "cut-short"}) { operation { id } } }',
      { url: `${files.base}/slow` },
    );
    const id = stuck.imageImport.operation.id;
    expect((await operation('b', id)).status).toBe('RUNNING');
    const killedAt = performance.now();
    await replicas.get('a')?.kill();
    replicas.delete('a');
    const rows = await until(
      async () => {
        const rows = await replicaRows('b');
        return rows.length === 1 && rows[0]?.hosts === 2 ? rows : undefined;
      },
      30_000,
      'B to hold both hosts',
    );
    const tookMs = performance.now() - killedAt;
    console.log(`replicas: B held both hosts ${Math.round(tookMs)} ms after A was killed`);
    expect(rows[0]?.replica.id).not.toBe(a);
    expect(rows[0]?.leads).toBe(true);
    const op = await ended('b', id);
    expect(op).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/controller stopped/),
    });
    expect(await imageNames('b')).toEqual(['small']);
    // B watches hv1 now: a domain stopped behind the controller's back is seen through B.
    const conn = conns.get('hv1') as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(vm)}`);
    await conn.domains.destroy(dom);
    await until(
      async () => {
        const r = await gql<{ node: { state: string } }>(
          'b',
          'query($id: ID!) { node(id: $id) { ... on Vm { state } } }',
          { id: vm },
        );
        return r.node.state === 'STOPPED' ? true : undefined;
      },
      30_000,
      'B to record the VM stopped',
    );
    expect((await vmOnHost(conn, vm)).domain).toBe('shutoff');
  });

  it('give hosts to a replica that joins, and refuse a lone controller beside them', async () => {
    await startReplica('c');
    const rows = await until(
      async () => {
        const rows = await replicaRows('c');
        return rows.length === 2 && rows.every((r) => r.hosts === 1) ? rows : undefined;
      },
      30_000,
      'the hosts to be shared again',
    );
    expect(rows.filter((r) => r.leads)).toHaveLength(1);
    const lone = startReplica('lone', { replicas: {} });
    await expect(lone).rejects.toThrow(/another controller is running on this database/);
  });

  it(
    'follow a command in a guest to its end when the replica running it dies',
    async () => {
      const built = await within(guestImage(), BUILD_MS, 'building the guest image');
      files.route('/guest.img', bytes(await readFile(built.path)));
      const imported = await gql<{
        imageImport: { image: { id: string }; operation: { id: string } };
      }>(
        'b',
        'mutation($url: String!) { imageImport(input: {url: $url, name: "guest"}) { image { id } operation { id } } }',
        { url: `${files.base}/guest.img` },
      );
      expect((await ended('b', imported.imageImport.operation.id)).status).toBe('SUCCEEDED');
      const created = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
        'c',
        'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
        {
          input: {
            image: imported.imageImport.image.id,
            name: 'guest',
            vcpus: 1,
            memoryBytes: String(128 * MiB),
            host: hosts.get('hv2'),
            sshKeys: [sshPublicKey('guest@kumo')],
            start: false,
          },
        },
      );
      const guest = created.vmCreate.vm.id;
      expect((await ended('c', created.vmCreate.operation.id)).status).toBe('SUCCEEDED');
      await gql('c', 'mutation($id: ID!) { vmStart(input: {id: $id}) { vm { state } } }', {
        id: guest,
      });
      // The console ticket asked of C opens the console on B (tickets are in Redis).
      const ticket = await gql<{ vmConsoleOpen: { console: { path: string } } }>(
        'c',
        'mutation($id: ID!) { vmConsoleOpen(input: {id: $id}) { console { path } } }',
        { id: guest },
      );
      const socket = await consoleSocket(ticket.vmConsoleOpen.console.path, on('b'));
      const con = new GuestConsole(createWebSocketStream(socket));
      // A second reader through C: libvirt gives the console to one client; B holds it and C
      // reads it through B, and neither takes it from the other.
      const second = await gql<{ vmConsoleOpen: { console: { path: string } } }>(
        'c',
        'mutation($id: ID!) { vmConsoleOpen(input: {id: $id}) { console { path } } }',
        { id: guest },
      );
      const con2 = new GuestConsole(
        createWebSocketStream(await consoleSocket(second.vmConsoleOpen.console.path, on('c'))),
      );
      try {
        await Promise.all([
          con.waitFor('KUMO-GUEST READY', BOOT_MS),
          con2.waitFor('KUMO-GUEST READY', BOOT_MS),
        ]);
      } finally {
        con.close();
        con2.close();
      }
      // Displays too: tickets asked of C, redeemed on B and on C at once; the two logins (each
      // sets the display's password) take turns through the lock the replicas share.
      const displayPath = async () =>
        (
          await gql<{ vmDisplayOpen: { console: { path: string } } }>(
            'c',
            'mutation($id: ID!) { vmDisplayOpen(input: {id: $id}) { console { path } } }',
            { id: guest },
          )
        ).vmDisplayOpen.console.path;
      const [onB, onC] = await Promise.all([
        displaySocket(await displayPath(), on('b')),
        displaySocket(await displayPath(), on('c')),
      ]);
      try {
        const views = await Promise.all([rfbViewer(onB.rfb), rfbViewer(onC.rfb)]);
        expect(views.map((v) => v.init.name)).toEqual(Array(2).fill(`QEMU (kumo-${rawId(guest)})`));
      } finally {
        onB.ws.close();
        onC.ws.close();
      }
      const launched = await gql<{
        vmExec: { results: Array<{ execution: { id: string; operation: { id: string } } }> };
      }>(
        'c',
        'mutation($input: VmExecInput!) { vmExec(input: $input) { results { execution { id operation { id } } } } }',
        {
          input: {
            vms: [guest],
            command: '/bin/sh',
            args: ['-c', 'echo start; sleep 6; echo end; exit 3'],
            timeoutSeconds: 60,
          },
        },
      );
      const execution = launched.vmExec.results[0]?.execution;
      if (!execution) throw new Error('no execution');
      // Followed through B while C runs it.
      const seen: OutputEvent[] = [];
      let heardStart: () => void = () => undefined;
      const started = new Promise<void>((r) => {
        heardStart = r;
      });
      const following = (async () => {
        for await (const r of subscriber('b').iterate<{ execOutput: OutputEvent }>({
          query: `subscription($e: ID!) { execOutput(execution: $e) {
          __typename
          ... on ExecLine { seq stream text }
          ... on ExecStateChange { seq state exitCode }
          ... on ExecGap { seq } } }`,
          variables: { e: execution.id },
        })) {
          if (r.errors) throw new Error(JSON.stringify(r.errors));
          if (!r.data) continue;
          seen.push(r.data.execOutput);
          if (r.data.execOutput.__typename === 'ExecLine') heardStart();
        }
      })();
      await within(started, 30_000, 'the first line through B');
      await replicas.get('c')?.kill();
      replicas.delete('c');
      await within(following, 60_000, 'the output to end');
      expect(seen.filter((e) => e.__typename === 'ExecLine').map((e) => e.text)).toEqual([
        'start',
        'end',
      ]);
      expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
      expect(seen.at(-1)).toMatchObject({ state: 'FINISHED', exitCode: 3 });
      expect(await ended('b', execution.operation.id)).toMatchObject({
        status: 'FAILED',
        error: expect.stringMatching(/status 3/),
      });
    },
    BUILD_MS + BOOT_MS + 120_000,
  );
});
