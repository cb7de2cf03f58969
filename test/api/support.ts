import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { z } from 'zod';
import { type Kumo, startKumo } from '../../src/app.ts';
import { type Config, type ConfigSchema, loadConfig } from '../../src/config/config.ts';
import type { OperationId } from '../../src/entities/ids.ts';
import type { DomainState } from '../../src/libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import type { RigHost } from '../rig/state.ts';
import { rig, rigHost } from '../support/rig.ts';
import { until } from '../support/wait.ts';

type ConfigInput = z.input<typeof ConfigSchema>;

/** ADMIN is the first admin every test controller starts with. */
export const ADMIN = { email: 'admin@kumo.test', password: 'admin-password-1' } as const;

/** GqlResult is a GraphQL response. */
export interface GqlResult<T = Record<string, unknown>> {
  readonly data?: T | null;
  readonly errors?: ReadonlyArray<{
    readonly message: string;
    readonly extensions?: { readonly code?: string };
  }>;
}

/** TestKumo is a controller on a temporary SQLite database, and a client for it. */
export interface TestKumo {
  readonly kumo: Kumo;
  readonly url: string;
  /** dataDir is the controller's data directory (database, image store). */
  readonly dataDir: string;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    token?: string | null,
  ): Promise<GqlResult<T>>;
  signIn(email: string, password: string): Promise<string>;
  /** restart stops the controller gracefully and starts another on the same data and config. */
  restart(): Promise<TestKumo>;
  stop(): Promise<void>;
}

/** startTestKumo starts a controller with cheap password hashing (tests sign in a lot). */
export async function startTestKumo(
  auth: Record<string, number> = {},
  extra: { localLibvirtUri?: string; overrides?: Partial<ConfigInput> } = {},
): Promise<TestKumo> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kumo-api-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      admin: { ...ADMIN },
      auth: { scryptLog2N: 10, ...auth },
      // No libvirtd answers here unless a test says where one does.
      localLibvirtUri: extra.localLibvirtUri ?? 'qemu:///system?socket=/nonexistent/libvirt-sock',
      ...extra.overrides,
    },
  });
  return testKumo(await startKumo(config), config, dataDir);
}

/** postGql posts one GraphQL request to `url`, as `token`'s user when given. */
export async function postGql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token: string | null = null,
): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

function testKumo(kumo: Kumo, config: Config, dataDir: string): TestKumo {
  const url = kumo.server.url;
  const gql = <T>(
    query: string,
    variables: Record<string, unknown> = {},
    token: string | null = null,
  ) => postGql<T>(url, query, variables, token);
  const signIn = async (email: string, password: string) => {
    const r = await gql<{ sessionCreate: { token: string | null; userErrors: unknown[] } }>(
      'mutation($e: String!, $p: String!) { sessionCreate(input: {email: $e, password: $p}) { token userErrors { code message } } }',
      { e: email, p: password },
    );
    const token = r.data?.sessionCreate.token;
    if (!token) throw new Error(`sign-in of ${email} failed: ${JSON.stringify(r)}`);
    return token;
  };
  return {
    kumo,
    url,
    dataDir,
    gql,
    signIn,
    restart: async () => {
      await kumo.stop();
      return testKumo(await startKumo(config), config, dataDir);
    },
    stop: async () => {
      await kumo.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** gqlData runs a document as `token` and throws, showing the whole answer, when no data came. */
export async function gqlData<T>(
  t: TestKumo,
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<GqlResult<T>> {
  const r = await t.gql<T>(query, variables, token);
  if (!r.data) throw new Error(JSON.stringify(r));
  return r;
}

/** codeOf returns the code of a response's first top-level error. */
export function codeOf(r: GqlResult): string | undefined {
  return r.errors?.[0]?.extensions?.code;
}

/** tlsCredentialsInput reads a pkipath-style directory into hostAdd's TLS credentials input. */
export function tlsCredentialsInput(dir: string) {
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    tls: {
      caCertificate: read('cacert.pem'),
      clientCertificate: read('clientcert.pem'),
      clientKey: read('clientkey.pem'),
    },
  };
}

/** sshCredentialsInput is hostAdd's SSH credentials for a rig host, its key pinned. */
export function sshCredentialsInput(h: RigHost) {
  return {
    ssh: {
      user: 'root',
      privateKey: readFileSync(rig().ssh.privateKey, 'utf8'),
      hostKeyFingerprint: h.sshHostKeyFingerprint,
    },
  };
}

/**
 * openConsole asks for a console ticket as `token` and connects to the VM's interactive
 * console with it; the socket resolves once open (or rejects with the HTTP refusal).
 */
export async function openConsole(t: TestKumo, vmId: string, token: string): Promise<WebSocket> {
  const r = await t.gql<{
    vmConsoleOpen: { console: { path: string } | null; userErrors: unknown[] };
  }>(
    'mutation($id: ID!) { vmConsoleOpen(input: {id: $id}) { console { path } userErrors { code field message } } }',
    { id: vmId },
    token,
  );
  const path = r.data?.vmConsoleOpen.console?.path;
  if (!path) throw new Error(`no console ticket: ${JSON.stringify(r)}`);
  return connectConsole(t, path);
}

/** connectConsole opens a WebSocket to a console path (`/console?ticket=...`). */
export function connectConsole(t: TestKumo, path: string): Promise<WebSocket> {
  return consoleSocket(path, t.url);
}

/** consoleSocket opens a WebSocket to a console path on the controller at `base`. */
export function consoleSocket(path: string, base: string): Promise<WebSocket> {
  const url = new URL(path, base);
  url.protocol = 'ws:';
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`console refused: ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
}

/**
 * addRigHost adds rig host `name` to the controller as the admin, over TLS or SSH, with the
 * given settings (hostUpdate fields), and returns its global id.
 */
export async function addRigHost(
  t: TestKumo,
  adminToken: string,
  name: 'hv1' | 'hv2' | 'hv3' | 'hv4',
  opts: { ssh?: boolean; settings?: Record<string, unknown> } = {},
): Promise<string> {
  const h = rigHost(name);
  const input = opts.ssh
    ? { name, uri: `qemu+ssh://${h.ip}/system`, credentials: sshCredentialsInput(h) }
    : {
        name,
        uri: `qemu+tls://${h.ip}/system`,
        credentials: tlsCredentialsInput(rig().pki.clientDir),
      };
  const added = await t.gql<{ hostAdd: { host: { id: string } | null; userErrors: unknown[] } }>(
    'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } userErrors { code message } } }',
    { input },
    adminToken,
  );
  const id = added.data?.hostAdd.host?.id;
  if (!id) throw new Error(`adding ${name}: ${JSON.stringify(added)}`);
  if (opts.settings) {
    const r = await t.gql(
      'mutation($input: HostUpdateInput!) { hostUpdate(input: $input) { userErrors { code message } } }',
      { input: { id, ...opts.settings } },
      adminToken,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
  return id;
}

/** sshPublicKey makes a fresh ed25519 public key in OpenSSH form, with `comment`. */
export function sshPublicKey(comment: string): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const raw = der.subarray(der.length - 32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/**
 * listening returns a function that waits (bounded) until one more subscription listens on the
 * controller's `topic` than when listening was called: subscribe between the two, since
 * graphql-ws registers a subscription some time after the client asks.
 */
export function listening(
  t: TestKumo,
  topic: Parameters<TestKumo['kumo']['events']['listeners']>[0],
): () => Promise<void> {
  const before = t.kumo.events.listeners(topic);
  return async () => {
    await until(
      async () => (t.kumo.events.listeners(topic) > before ? true : undefined),
      10_000,
      `a subscription to ${topic}`,
    );
  };
}

/**
 * vmOnHost is what a host has of a VM: its volumes in the pool (by name) and its domain's state
 * (null without one). A host no VM was ever made on has no pool, hence no volumes.
 */
export async function vmOnHost(
  conn: LibvirtConnection,
  vmId: string,
  poolName = 'kumo',
): Promise<{ volumes: string[]; domain: DomainState | null }> {
  const id = rawId(vmId);
  const pool = await conn.storage.lookupPool(poolName).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (pool) await conn.storage.refreshPool(pool);
  const volumes = pool
    ? (await conn.storage.listVolumes(pool)).map((v) => v.name).filter((n) => n.includes(id))
    : [];
  // The domain may go between the lookup and the state (a sweep removing it): gone either way.
  const domain = await conn.domains
    .lookupByName(`kumo-${id}`)
    .then(async (d) => (await conn.domains.state(d)).state)
    .catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  return { volumes, domain };
}

/** rawId is the database id inside a Relay global id (`Type:id`, base64). */
export function rawId(globalId: string): string {
  return Buffer.from(globalId, 'base64').toString('utf8').split(':').slice(1).join(':');
}

/** OperationView is what tests read of a finished operation. */
export interface OperationView {
  readonly status: string;
  readonly error: string | null;
  readonly phase: string | null;
  readonly progress: number;
}

/** settled waits for an operation to finish and returns how it ended. */
export async function settled(
  t: TestKumo,
  operationId: string,
  token: string,
): Promise<OperationView> {
  await t.kumo.operations.settled(rawId(operationId) as OperationId);
  const r = await t.gql<{ node: OperationView | null }>(
    'query($id: ID!) { node(id: $id) { ... on Operation { status error phase progress } } }',
    { id: operationId },
    token,
  );
  if (!r.data?.node) throw new Error(`operation ${operationId}: ${JSON.stringify(r)}`);
  return r.data.node;
}

/**
 * addUser creates `<who>@kumo.test` (password `<who>-password`) as the admin and signs them
 * in; it returns their token.
 */
export async function addUser(t: TestKumo, adminToken: string, who: string): Promise<string> {
  const r = await t.gql(
    `mutation($e: String!, $p: String!) { userCreate(input: {email: $e, password: $p}) { user { id } } }`,
    { e: `${who}@kumo.test`, p: `${who}-password` },
    adminToken,
  );
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return t.signIn(`${who}@kumo.test`, `${who}-password`);
}

/** subscriber opens a graphql-ws client to the controller, signed in with `token`. */
export function subscriber(t: TestKumo, token: string): Client {
  return createClient({
    url: t.url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
  });
}

/** importImage imports `url` as image `name` for `token`'s user and waits until it is AVAILABLE. */
export async function importImage(
  t: TestKumo,
  token: string,
  url: string,
  name: string,
): Promise<string> {
  const r = await t.gql<{ imageImport: { image: { id: string }; operation: { id: string } } }>(
    'mutation($url: String!, $name: String!) { imageImport(input: {url: $url, name: $name}) { image { id } operation { id } } }',
    { url, name },
    token,
  );
  if (!r.data) throw new Error(`importing ${url}: ${JSON.stringify(r)}`);
  const op = await settled(t, r.data.imageImport.operation.id, token);
  if (op.status !== 'SUCCEEDED') throw new Error(`importing ${url}: ${JSON.stringify(op)}`);
  return r.data.imageImport.image.id;
}
