// Graphical consoles: a VM's VNC display reached through the controller (straight to a TLS
// host, through the SSH session to an SSH host), logged in with a one-time password the browser
// never sees, greeted as RFB that asks none. VMs without an OS: SeaBIOS draws on the display.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { dialTcp } from '../../src/libvirt/transport/tcp.ts';
import { parseVncDisplay } from '../../src/libvirt/xml/domain.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { displaySocket, rfbViewer, securityTypes } from '../support/rfb-client.ts';
import { openTls, rigHost } from '../support/rig.ts';
import { until, within } from '../support/wait.ts';
import {
  ADMIN,
  addRigHost,
  addUser,
  codeOf,
  gqlData,
  importImage,
  rawId,
  settled,
  startTestKumo,
  type TestKumo,
} from './support.ts';

const MiB = 1024n * 1024n;
const run = promisify(execFile);

interface UserErrorView {
  code: string;
  field: string | null;
  message: string;
}
type Opened = {
  console: { path: string; expiresAt: string } | null;
  userErrors: UserErrorView[];
};

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

// An admin places the VM; Alice owns it.
async function createVm(name: string, host: string): Promise<string> {
  const r = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } userErrors { code message } } }',
    {
      input: {
        image: imageId,
        name,
        vcpus: 1,
        memoryBytes: String(64n * MiB),
        host: hosts.get(host),
      },
    },
    admin,
  );
  const id = r.data?.vmCreate.vm.id as string;
  expect((await settled(k, r.data?.vmCreate.operation.id as string, admin)).status).toBe(
    'SUCCEEDED',
  );
  await share(id, 'alice', 'OWNER', admin);
  return id;
}

async function share(id: string, who: string, role: string, token: string) {
  await gql(
    'mutation($id: ID!, $email: String!, $role: Role!) { vmShare(input: {id: $id, email: $email, role: $role}) { userErrors { code } } }',
    { id, email: `${who}@kumo.test`, role },
    token,
  );
}

async function openTicket(mutation: 'vmDisplayOpen' | 'vmConsoleOpen', id: string, token: string) {
  return k.gql<Record<string, Opened>>(
    `mutation($id: ID!) { ${mutation}(input: {id: $id}) { console { path expiresAt } userErrors { code field message } } }`,
    { id },
    token,
  );
}

async function displayPath(id: string, token: string): Promise<string> {
  const r = await openTicket('vmDisplayOpen', id, token);
  const path = r.data?.vmDisplayOpen?.console?.path;
  if (!path) throw new Error(`no display ticket: ${JSON.stringify(r)}`);
  return path;
}

const open = async (id: string, token: string) =>
  displaySocket(await displayPath(id, token), k.url);

async function view(id: string, token: string) {
  const { ws, rfb } = await open(id, token);
  try {
    return await within(rfbViewer(rfb), 20_000, 'the display to answer');
  } finally {
    ws.close();
  }
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}

beforeAll(async () => {
  files = await serveFiles();
  files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests' },
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
    hosts.set(
      name,
      await addRigHost(k, admin, name, { ssh: name === 'hv2', settings: { cpuOvercommit: 8 } }),
    );
  }
  imageId = await importImage(k, admin, `${files.base}/disk.raw`, 'blank');
}, 120_000);

afterAll(async () => {
  await k?.stop();
  await files?.close();
  for (const c of conns.values()) await c.close();
});

describe('graphical consoles', () => {
  let onTls: string;
  let onSsh: string;

  it("shows a VM's display through the controller, from a TLS host and an SSH host", async () => {
    onTls = await createVm('shown-tls', 'hv1');
    onSsh = await createVm('shown-ssh', 'hv2');
    for (const id of [onTls, onSsh]) {
      const path = await displayPath(id, alice);
      expect(path).toMatch(/^\/display\?ticket=kumo_/);
      const { init, rects } = await view(id, alice);
      // QEMU names the desktop after the domain: this is the VM asked for.
      expect(init.name).toBe(`QEMU (kumo-${rawId(id)})`);
      expect(init.width).toBeGreaterThan(0);
      expect(init.height).toBeGreaterThan(0);
      expect(rects).toBeGreaterThan(0);
    }
  });

  it('keeps the display itself behind a password nobody holds', async () => {
    const conn = conns.get('hv1') as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(onTls)}`);
    const display = parseVncDisplay(await conn.domains.xml(dom));
    expect(display?.listen).toBe('0.0.0.0');
    const socket = await dialTcp(rigHost('hv1').ip, display?.port as number, 5000);
    try {
      // VNC authentication only: no way in without the password set for a login.
      expect(await securityTypes(socket)).toEqual([2]);
    } finally {
      socket.destroy();
    }
  });

  it('opens by single-use ticket to operators only, and closes when the role is taken away', async () => {
    expect(
      (await openTicket('vmDisplayOpen', onTls, bob)).data?.vmDisplayOpen?.userErrors[0]?.code,
    ).toBe('NOT_FOUND');
    await share(onTls, 'bob', 'VIEWER', alice);
    expect(codeOf(await openTicket('vmDisplayOpen', onTls, bob))).toBe('FORBIDDEN');
    await share(onTls, 'bob', 'OPERATOR', alice);

    const path = await displayPath(onTls, bob);
    const { ws, rfb } = await displaySocket(path, k.url);
    await expect(displaySocket(path, k.url)).rejects.toThrow(/display refused: 401/);
    // A serial console's ticket does not open the display.
    const serial = (await openTicket('vmConsoleOpen', onTls, bob)).data?.vmConsoleOpen?.console;
    const ticket = new URL(serial?.path as string, 'http://x').searchParams.get('ticket');
    await expect(displaySocket(`/display?ticket=${ticket}`, k.url)).rejects.toThrow(/401/);

    const closed = closeCode(ws);
    expect((await rfbViewer(rfb)).init.name).toBe(`QEMU (kumo-${rawId(onTls)})`);
    await gql(
      'mutation($id: ID!) { vmUnshare(input: {id: $id, email: "bob@kumo.test"}) { userErrors { code } } }',
      { id: onTls },
      alice,
    );
    expect(await within(closed, 15_000, "Bob's display to close")).toBe(4403);
  });

  it('lets go of the display when a ticket comes with a handshake the server drops', async () => {
    const conn = conns.get('hv1') as LibvirtConnection;
    const dom = await conn.domains.lookupByName(`kumo-${rawId(onTls)}`);
    const port = parseVncDisplay(await conn.domains.xml(dom))?.port as number;
    const toDisplay = async () =>
      (
        await run('ss', ['-Htn', 'state', 'established', 'dst', `${rigHost('hv1').ip}:${port}`])
      ).stdout.trim();
    const unused = () =>
      until(async () => ((await toDisplay()) === '' ? true : undefined), 5000, 'no session');
    // Earlier viewers have left.
    await unused();
    // A valid ticket, then a WebSocket version ws refuses after the controller logged in.
    const path = await displayPath(onTls, alice);
    const url = new URL(path, k.url);
    const socket = await dialTcp(url.hostname, Number(url.port), 5000);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n',
    );
    const answer = await new Promise<string>((resolve) =>
      socket.once('data', (d) => resolve(String(d))),
    );
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    socket.destroy();
    await until(
      async () => ((await toDisplay()) === '' ? true : undefined),
      5000,
      'the display let go',
    );
  });

  it('lets several in at once, each with its own login', async () => {
    const seen = await Promise.all([view(onSsh, alice), view(onSsh, alice), view(onSsh, admin)]);
    expect(seen.map((s) => s.init.name)).toEqual(Array(3).fill(`QEMU (kumo-${rawId(onSsh)})`));
  });

  it('follows the VM when it moves to a host reached the other way', async () => {
    const { ws, rfb } = await open(onTls, alice);
    const closed = closeCode(ws);
    await rfbViewer(rfb);
    const r = await gql<{ vmMigrate: { operation: { id: string } } }>(
      'mutation($id: ID!, $host: ID!) { vmMigrate(input: {id: $id, host: $host}) { operation { id } userErrors { code message } } }',
      { id: onTls, host: hosts.get('hv2') },
      admin,
    );
    expect((await settled(k, r.data?.vmMigrate.operation.id as string, admin)).status).toBe(
      'SUCCEEDED',
    );
    // The session on the old host ends with the domain there; a new one reaches the new host.
    expect(await within(closed, 15_000, 'the old display to close')).toBe(1000);
    expect((await view(onTls, alice)).init.name).toBe(`QEMU (kumo-${rawId(onTls)})`);
  });

  it('refuses a VM that is not running: as a user error, and at the socket for a ticket it had', async () => {
    const path = await displayPath(onSsh, alice);
    await gql(
      'mutation($id: ID!) { vmPowerOff(input: {id: $id}) { vm { state } } }',
      { id: onSsh },
      alice,
    );
    await expect(displaySocket(path, k.url)).rejects.toThrow(/display refused: 409/);
    const r = await openTicket('vmDisplayOpen', onSsh, alice);
    expect(r.data?.vmDisplayOpen?.userErrors[0]).toMatchObject({
      code: 'INVALID_STATE',
      field: 'input.id',
    });
  });
});
