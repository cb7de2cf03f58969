import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ADMIN, addUser, rawId, settled, startTestKumo, type TestKumo } from './support.ts';

const MiB = 1024 * 1024;
// A raw disk: a whole number of sectors, with something in them.
const RAW = Buffer.alloc(2 * MiB, 0x5a);
const RAW_SHA = createHash('sha512').update(RAW).digest('hex');

const IMPORT = `mutation($input: ImageImportInput!) { imageImport(input: $input) {
  image { id name state } operation { id status target } userErrors { code field message } } }`;
const IMAGE = `query($id: ID!) { node(id: $id) { ... on Image {
  id name description state format sizeBytes virtualSizeBytes sha512 public sourceUrl myRole owner { email } } } }`;

interface ImportResult {
  imageImport: {
    image: { id: string; name: string; state: string } | null;
    operation: { id: string; status: string; target: string | null } | null;
    userErrors: Array<{ code: string; field: string | null; message: string }>;
  };
}

let k: TestKumo;
let files: FileServer;
let admin: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  files = await serveFiles();
  files.route('/disk.raw', bytes(RAW));
  files.route('/text', bytes(Buffer.from('this is not a disk image\n')));
  files.route('/truncated', (_req, res) => {
    res.writeHead(200, { 'content-length': RAW.length });
    res.write(RAW.subarray(0, 100_000), () => res.socket?.destroy());
  });
  files.route('/to-metadata', (_req, res) =>
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end(),
  );
  files.route('/slow', (_req, res) => {
    res.writeHead(200, { 'content-length': 64 * MiB });
    res.write(Buffer.alloc(MiB));
    // ...and nothing more: the import waits until it is cancelled.
  });
  k = await startTestKumo(
    {},
    { overrides: { images: { allowedAddresses: ['127.0.0.1/32'], maxBytes: 16 * MiB } } },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  alice = await addUser(k, admin, 'alice');
  bob = await addUser(k, admin, 'bob');
});

afterAll(async () => {
  await k?.stop();
  await files?.close();
});

const storeDir = () => join(k.dataDir, 'images');

async function importImage(token: string, input: Record<string, unknown>) {
  const r = await k.gql<ImportResult>(IMPORT, { input }, token);
  if (!r.data) throw new Error(JSON.stringify(r));
  return r.data.imageImport;
}

describe('imageImport', () => {
  it('streams an image into the store, hashed, with its format and size from its header', async () => {
    const out = await importImage(alice, {
      url: `${files.base}/disk.raw`,
      name: 'tiny <raw> & "disk"',
      description: 'two MiB of Z',
      sha512: RAW_SHA.toUpperCase(),
    });
    expect(out.userErrors).toEqual([]);
    expect(out.image?.state).toBe('IMPORTING');
    // The operation names its image by the id the API gives the image.
    expect(out.operation?.target).toBe(out.image?.id);
    const op = await settled(k, out.operation?.id as string, alice);
    expect(op).toMatchObject({ status: 'SUCCEEDED', progress: 1, error: null });
    const img = await k.gql<{ node: Record<string, unknown> }>(IMAGE, { id: out.image?.id }, alice);
    expect(img.data?.node).toMatchObject({
      name: 'tiny <raw> & "disk"',
      state: 'AVAILABLE',
      format: 'raw',
      sizeBytes: String(RAW.length),
      virtualSizeBytes: String(RAW.length),
      sha512: RAW_SHA,
      public: false,
      sourceUrl: `${files.base}/disk.raw`,
      myRole: 'OWNER',
      owner: { email: 'alice@kumo.test' },
    });
    expect(readdirSync(storeDir())).toContain(`${rawId(out.image?.id as string)}.raw`);
  });

  it('refuses forbidden addresses and schemes at once, recording nothing', async () => {
    for (const [url, code] of [
      ['http://10.1.2.3/disk.raw', 'REFUSED'],
      ['http://[::1]:8080/disk.raw', 'REFUSED'],
      ['http://169.254.169.254/latest', 'REFUSED'],
      ['file:///etc/passwd', 'INVALID'],
      ['not a url', 'INVALID'],
    ] as const) {
      const out = await importImage(alice, { url, name: 'x' });
      expect(out.userErrors, url).toEqual([expect.objectContaining({ code, field: 'input.url' })]);
      expect(out.image).toBeNull();
    }
  });

  it.each([
    ['a redirect to a forbidden address', '/to-metadata', {}, /169\.254\.169\.254/],
    ['bytes that are no disk image', '/text', {}, /512-byte sectors/],
    ['a truncated download', '/truncated', {}, /ended after/],
    ['a checksum that does not match', '/disk.raw', { sha512: 'ab'.repeat(64) }, /SHA-512/],
  ])('fails on %s and leaves no image, file or role behind', async (_c, path, extra, why) => {
    const before = readdirSync(storeDir()).length;
    const out = await importImage(alice, { url: `${files.base}${path}`, name: 'bad', ...extra });
    expect(out.userErrors).toEqual([]);
    const op = await settled(k, out.operation?.id as string, alice);
    expect(op.status).toBe('FAILED');
    expect(op.error).toMatch(why);
    const gone = await k.gql<{ node: unknown }>(IMAGE, { id: out.image?.id }, admin);
    expect(gone.data?.node).toBeNull();
    expect(readdirSync(storeDir()).length).toBe(before);
  });

  it('refuses an image over the size limit', async () => {
    files.route('/huge', (_req, res) => {
      res.writeHead(200, { 'content-length': 17 * MiB });
      res.end(Buffer.alloc(17 * MiB));
    });
    const out = await importImage(alice, { url: `${files.base}/huge`, name: 'huge' });
    const op = await settled(k, out.operation?.id as string, alice);
    expect(op).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/limit/) });
  });

  it('can be cancelled, and then nothing of it remains', async () => {
    const before = readdirSync(storeDir()).length;
    const out = await importImage(alice, { url: `${files.base}/slow`, name: 'slow' });
    const opId = out.operation?.id as string;
    const cancel = await k.gql<{ operationCancel: { operation: { status: string } } }>(
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { operation { status } } }',
      { id: opId },
      alice,
    );
    expect(cancel.data?.operationCancel.operation.status).toBe('CANCELLED');
    const gone = await k.gql<{ node: unknown }>(IMAGE, { id: out.image?.id }, admin);
    expect(gone.data?.node).toBeNull();
    expect(readdirSync(storeDir()).length).toBe(before);
  });
});

describe('image catalog', () => {
  let imageId: string;

  beforeAll(async () => {
    const out = await importImage(alice, { url: `${files.base}/disk.raw`, name: 'alice-shared' });
    await settled(k, out.operation?.id as string, alice);
    imageId = out.image?.id as string;
  });

  const names = async (token: string, filter: Record<string, unknown> = {}) => {
    const r = await k.gql<{ images: { edges: Array<{ node: { name: string } }> } }>(
      'query($f: ImageFilter) { images(first: 100, filter: $f) { edges { node { name } } } }',
      { f: filter },
      token,
    );
    if (!r.data) throw new Error(JSON.stringify(r));
    return r.data.images.edges.map((e) => e.node.name);
  };

  it('shows users only the images they have a role on, until shared or made public', async () => {
    expect(await names(alice)).toContain('alice-shared');
    expect(await names(bob)).not.toContain('alice-shared');
    expect((await k.gql<{ node: unknown }>(IMAGE, { id: imageId }, bob)).data?.node).toBeNull();

    const share = await k.gql<{
      imageShare: { shares: Array<{ role: string; user: { email: string } }> };
    }>(
      'mutation($id: ID!) { imageShare(input: {id: $id, email: "bob@kumo.test", role: VIEWER}) { shares { role user { email } } userErrors { code } } }',
      { id: imageId },
      alice,
    );
    expect(share.data?.imageShare.shares).toEqual([
      { role: 'OWNER', user: { email: 'alice@kumo.test' } },
      { role: 'VIEWER', user: { email: 'bob@kumo.test' } },
    ]);
    expect(await names(bob, { text: 'ALICE-sh' })).toEqual(['alice-shared']);
    // A VIEWER may not change it.
    const rename = await k.gql(
      'mutation($id: ID!) { imageUpdate(input: {id: $id, name: "mine"}) { image { name } } }',
      { id: imageId },
      bob,
    );
    expect(rename.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await k.gql(
      'mutation($id: ID!) { imageUnshare(input: {id: $id, email: "bob@kumo.test"}) { userErrors { code } } }',
      { id: imageId },
      alice,
    );
    expect(await names(bob)).not.toContain('alice-shared');
  });

  it('lets only admins make an image public, and then everyone sees it', async () => {
    const PUBLIC =
      'mutation($id: ID!) { imageUpdate(input: {id: $id, public: true}) { image { public } } }';
    const denied = await k.gql(PUBLIC, { id: imageId }, alice);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await k.gql<{ imageUpdate: { image: { public: boolean } } }>(
      PUBLIC,
      { id: imageId },
      admin,
    );
    expect(ok.data?.imageUpdate.image.public).toBe(true);
    expect(await names(bob)).toContain('alice-shared');
    const seen = await k.gql<{ node: { myRole: string | null; owner: { email: string } } }>(
      IMAGE,
      { id: imageId },
      bob,
    );
    expect(seen.data?.node).toMatchObject({ myRole: null, owner: { email: 'alice@kumo.test' } });
  });

  it('filters by state and owner', async () => {
    const me = await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, alice);
    expect(await names(alice, { owner: me.data?.viewer.id, state: 'AVAILABLE' })).toContain(
      'alice-shared',
    );
    expect(await names(alice, { state: 'ERROR' })).toEqual([]);
  });

  it('removes an image from the catalog and the store', async () => {
    const r = await k.gql<{
      imageRemove: { removedImageId: string | null; userErrors: unknown[] };
    }>(
      'mutation($id: ID!) { imageRemove(input: {id: $id}) { removedImageId userErrors { code message } } }',
      { id: imageId },
      alice,
    );
    expect(r.data?.imageRemove).toEqual({ removedImageId: imageId, userErrors: [] });
    expect(existsSync(join(storeDir(), `${rawId(imageId)}.raw`))).toBe(false);
    expect(await names(alice)).not.toContain('alice-shared');
  });
});

describe('imageUpload', () => {
  const UPLOAD = `mutation($input: ImageUploadInput!) { imageUpload(input: $input) {
    image { id name state format sizeBytes sha512 } userErrors { code field message } } }`;

  const upload = async (
    token: string | null,
    body: Buffer,
    extra: Record<string, unknown> = {},
  ) => {
    const form = new FormData();
    form.set(
      'operations',
      JSON.stringify({
        query: UPLOAD,
        variables: { input: { file: null, name: 'uploaded', ...extra } },
      }),
    );
    form.set('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.set('0', new Blob([new Uint8Array(body)]), 'disk.raw');
    const res = await fetch(k.url, {
      method: 'POST',
      body: form,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('takes a file in a GraphQL multipart request, with the same checks as an import', async () => {
    const ok = await upload(alice, RAW, { sha512: RAW_SHA });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({
      data: {
        imageUpload: {
          image: { name: 'uploaded', state: 'AVAILABLE', format: 'raw', sha512: RAW_SHA },
          userErrors: [],
        },
      },
    });
    const bad = await upload(alice, Buffer.from('not a disk'));
    expect(bad.json).toMatchObject({
      data: { imageUpload: { image: null, userErrors: [{ code: 'INVALID' }] } },
    });
    const mismatch = await upload(alice, RAW, { sha512: 'cd'.repeat(64) });
    expect(mismatch.json).toMatchObject({
      data: { imageUpload: { userErrors: [{ code: 'INVALID', field: 'input.sha512' }] } },
    });
    // Only what the accepted upload stored is left: no spooled or refused files.
    const left = readdirSync(storeDir()).filter(
      (f) => !f.endsWith('.raw') && !f.endsWith('.qcow2'),
    );
    expect(left).toEqual([]);
  });

  it('refuses uploads from anonymous callers before reading them, and files over the limit', async () => {
    expect((await upload(null, RAW)).status).toBe(401);
    const big = await upload(alice, Buffer.alloc(17 * MiB));
    expect(big.status).toBe(413);
  });
});
