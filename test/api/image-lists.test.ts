// Signed image lists as VMcaster's users make them: a test endorser CA and certificate made
// with the openssl CLI, lists signed with `openssl smime -sign`, served from loopback. Kumo
// trusts the endorser, follows the list, imports its images with the list's SHA-512, and
// reacts to each change: a tampered list, one signed by someone else, an unsigned one, a new
// version, an image removed (revoked), a checksum that does not match, an expired list.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClientCertificate } from '../../src/pki/index.ts';
import type { ImageList } from '../../src/services/image-lists/image-list-format.ts';
import {
  listedImage,
  makeEndorser,
  signList,
  type TestEndorser,
  testList,
} from '../support/endorsers.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { until } from '../support/wait.ts';
import { ADMIN, startTestKumo, subscriber, type TestKumo } from './support.ts';

const MiB = 1024 * 1024;
const DISK_A = Buffer.alloc(MiB, 0x41);
const DISK_A2 = Buffer.alloc(MiB, 0x61);
const DISK_B = Buffer.alloc(MiB, 0x42);
const sha = (b: Buffer) => createHash('sha512').update(b).digest('hex');
const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const DAY = 86_400_000;

let k: TestKumo;
let files: FileServer;
let dir: string;
let admin: string;
let trusted: TestEndorser;
let stranger: TestEndorser;
let impostor: TestEndorser;
let expired: TestEndorser;
let client: Client;
const events: Array<{ kind: string; identifier: string | null; message: string }> = [];
let subscriptionId: string;

interface Entry {
  identifier: string;
  version: string;
  state: string;
  stateReason: string;
  image: { id: string; state: string; stateReason: string; sha512: string; public: boolean } | null;
}
interface Subscription {
  id: string;
  state: string;
  lastError: string | null;
  title: string | null;
  endorserDn: string | null;
  entries: Entry[];
}
const SUBSCRIPTION = `id state lastError title endorserDn
  entries { identifier version state stateReason image { id state stateReason sha512 public } }`;

function list(images: ImageList['images'], expiresAt?: Date): string {
  return testList(files.base, trusted, images, {
    title: 'Kumo test list',
    description: 'images for the image list tests',
    version: '1',
    ...(expiresAt ? { expiresAt } : {}),
  });
}

function image(identifier: string, version: string, disk: Buffer, path: string, sum = sha(disk)) {
  return listedImage(files, {
    identifier,
    title: `image ${identifier.slice(0, 1)}`,
    version,
    disk,
    path,
    sha512: sum,
  });
}

async function publish(body: Buffer | string): Promise<void> {
  files.route('/list', bytes(Buffer.from(body)));
}

async function refresh(): Promise<Subscription> {
  const r = await k.gql<{
    imageListRefresh: { subscription: Subscription; userErrors: unknown[] };
  }>(
    `mutation($id: ID!) { imageListRefresh(input: {id: $id}) { subscription { ${SUBSCRIPTION} } userErrors { code message } } }`,
    { id: subscriptionId },
    admin,
  );
  expect(r.data?.imageListRefresh.userErrors).toEqual([]);
  return r.data?.imageListRefresh.subscription as Subscription;
}

async function current(): Promise<Subscription> {
  const r = await k.gql<{ node: Subscription }>(
    `query($id: ID!) { node(id: $id) { ... on ImageListSubscription { ${SUBSCRIPTION} } } }`,
    { id: subscriptionId },
    admin,
  );
  return r.data?.node as Subscription;
}

const entry = (s: Subscription, id: string) => s.entries.find((e) => e.identifier === id) as Entry;

// Waits for an event of `kind` (about `identifier`) after the first `from` events.
function heard(kind: string, identifier: string | null, from = 0) {
  return until(
    async () => events.slice(from).find((e) => e.kind === kind && e.identifier === identifier),
    30_000,
    `an ${kind} event for ${identifier}`,
  );
}

// expiredEndorser is a certificate the trusted endorser's CA issued, valid until yesterday.
async function expiredEndorser(e: TestEndorser): Promise<TestEndorser> {
  const issued = await issueClientCertificate(
    { certPem: e.caPem, keyPem: await readFile(e.caKeyPath, 'utf8') },
    {
      commonName: 'expired endorser',
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    },
  );
  const [certPath, keyPath] = [join(dir, 'expired.pem'), join(dir, 'expired.key')];
  await writeFile(certPath, issued.certPem);
  await writeFile(keyPath, issued.keyPem);
  return { ...e, dn: '/CN=expired endorser', certPath, keyPath };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kumo-endorsers-'));
  [trusted, stranger] = await Promise.all([
    makeEndorser(dir, 'trusted'),
    makeEndorser(dir, 'stranger'),
  ]);
  impostor = await makeEndorser(dir, 'impostor', trusted);
  expired = await expiredEndorser(trusted);
  files = await serveFiles();
  k = await startTestKumo({}, { overrides: { images: { allowedAddresses: ['127.0.0.1/32'] } } });
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  client = subscriber(k, admin);
  void (async () => {
    for await (const r of client.iterate<{
      imageListEvents: { kind: string; identifier: string | null; message: string };
    }>({ query: 'subscription { imageListEvents { kind identifier message } }' }))
      if (r.data) events.push(r.data.imageListEvents);
  })();
}, 60_000);

afterAll(async () => {
  await client?.dispose();
  await k?.stop();
  await files?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('endorsers', () => {
  it('trusts an endorser by DN and CA, refusing a duplicate and a certificate that is no CA', async () => {
    const add = (dn: string, caCertificate: string) =>
      k.gql<{
        endorserAdd: {
          endorser: { dn: string; caDn: string } | null;
          userErrors: Array<{ code: string; message: string }>;
        };
      }>(
        'mutation($dn: String!, $ca: String!) { endorserAdd(input: {dn: $dn, caCertificate: $ca}) { endorser { dn caDn } userErrors { code message } } }',
        { dn, ca: caCertificate },
        admin,
      );
    const ok = await add(trusted.dn, trusted.caPem);
    expect(ok.data?.endorserAdd).toEqual({
      endorser: { dn: trusted.dn, caDn: trusted.caDn },
      userErrors: [],
    });
    expect((await add(trusted.dn, trusted.caPem)).data?.endorserAdd.userErrors[0]?.code).toBe(
      'CONFLICT',
    );
    const leaf = await readFile(trusted.certPath, 'utf8');
    const notCa = (await add('/CN=someone', leaf)).data?.endorserAdd.userErrors[0];
    expect(notCa?.code).toBe('INVALID');
    expect(notCa?.message).toMatch(/not a CA certificate/);
  });
});

describe('a followed list', () => {
  it('is verified at subscription and its images imported with the listed SHA-512', async () => {
    await publish(
      await signList(
        trusted,
        list([image(A, '1', DISK_A, '/a-1.raw'), image(B, '1', DISK_B, '/b-1.raw')]),
      ),
    );
    const r = await k.gql<{
      imageListSubscribe: { subscription: Subscription; userErrors: unknown[] };
    }>(
      `mutation($url: String!) { imageListSubscribe(input: {url: $url, autoImport: true, publicImages: true}) { subscription { ${SUBSCRIPTION} } userErrors { code message } } }`,
      { url: `${files.base}/list` },
      admin,
    );
    expect(r.data?.imageListSubscribe.userErrors).toEqual([]);
    const sub = r.data?.imageListSubscribe.subscription as Subscription;
    subscriptionId = sub.id;
    expect(sub).toMatchObject({
      state: 'VALID',
      lastError: null,
      title: 'Kumo test list',
      endorserDn: trusted.dn,
    });
    await heard('IMAGE_IMPORTED', A);
    await heard('IMAGE_IMPORTED', B);
    const now = await current();
    for (const [id, disk] of [
      [A, DISK_A],
      [B, DISK_B],
    ] as const)
      expect(entry(now, id)).toMatchObject({
        state: 'IMPORTED',
        image: { state: 'AVAILABLE', sha512: sha(disk), public: true },
      });
    expect(events.map((e) => e.kind)).toContain('LIST_VERIFIED');
  });

  it('rejects a tampered list, one signed by someone else, by an expired certificate or not at all, changing nothing', async () => {
    const good = await signList(
      trusted,
      list([image(A, '1', DISK_A, '/a-1.raw'), image(B, '1', DISK_B, '/b-1.raw')]),
    );
    const tampered = Buffer.from(good);
    const at = tampered.indexOf('Kumo test list');
    tampered[at] = 'k'.charCodeAt(0);
    for (const [body, why] of [
      [tampered, /BAD_SIGNATURE/],
      [
        await signList(stranger, list([image(A, '1', DISK_A, '/a-1.raw')])),
        /UNTRUSTED: .*no chain leads to a trusted CA/,
      ],
      [
        await signList(impostor, list([image(A, '1', DISK_A, '/a-1.raw')])),
        /impostor endorser, who is not a trusted endorser/,
      ],
      [await signList(expired, list([image(A, '1', DISK_A, '/a-1.raw')])), /CERTIFICATE_EXPIRED/],
      [list([image(A, '1', DISK_A, '/a-1.raw')]), /NOT_SIGNED/],
    ] as const) {
      await publish(body);
      const s = await refresh();
      expect(s.state).toBe('REJECTED');
      expect(s.lastError).toMatch(why);
      expect(s.entries.map((e) => [e.identifier, e.state, e.image?.state])).toEqual([
        [A, 'IMPORTED', 'AVAILABLE'],
        [B, 'IMPORTED', 'AVAILABLE'],
      ]);
    }
    expect(events.filter((e) => e.kind === 'LIST_REJECTED')).toHaveLength(5);
  });

  it('imports a new version, expiring the one it supersedes; expires an image removed from the list', async () => {
    const from = events.length;
    await publish(await signList(trusted, list([image(A, '2', DISK_A2, '/a-2.raw')])));
    const s = await refresh();
    expect(s.state).toBe('VALID');
    const before = entry(s, A).image?.id;
    expect(entry(s, B)).toMatchObject({
      state: 'EXPIRED',
      stateReason: expect.stringMatching(/removed it from the list/),
      image: { state: 'EXPIRED', stateReason: expect.stringMatching(/removed it from the list/) },
    });
    await heard('IMAGE_IMPORTED', A, from);
    const now = entry(await current(), A);
    expect(now).toMatchObject({ version: '2', state: 'IMPORTED', image: { sha512: sha(DISK_A2) } });
    expect(now.image?.id).not.toBe(before);
    const old = await k.gql<{ node: { state: string; stateReason: string } }>(
      'query($id: ID!) { node(id: $id) { ... on Image { state stateReason } } }',
      { id: before },
      admin,
    );
    expect(old.data?.node).toMatchObject({
      state: 'EXPIRED',
      stateReason: expect.stringMatching(/superseded by version 2/),
    });
    expect(events.slice(from).map((e) => e.kind)).toEqual(
      expect.arrayContaining(['IMAGE_UPDATED', 'IMAGE_EXPIRED', 'IMAGE_IMPORTED']),
    );
  });

  it('fails the import of a version whose bytes do not match the listed checksum, leaving no image behind, and tries again at the next refresh', async () => {
    const from = events.length;
    const images = async () =>
      (
        await k.gql<{ images: { edges: unknown[] } }>(
          '{ images(first: 100) { edges { node { id } } } }',
          {},
          admin,
        )
      ).data?.images.edges.length;
    const count = await images();
    // Version 3 is listed with the checksum of other bytes than those served.
    await publish(await signList(trusted, list([image(A, '3', DISK_A, '/a-3.raw', sha(DISK_B))])));
    await refresh();
    const failed = await heard('IMAGE_IMPORT_FAILED', A, from);
    expect(failed.message).toMatch(/SHA-512/);
    const now = entry(await current(), A);
    expect(now).toMatchObject({
      version: '3',
      state: 'FAILED',
      stateReason: expect.stringMatching(/SHA-512/),
      image: { state: 'AVAILABLE', sha512: sha(DISK_A2) },
    });
    expect(await images()).toBe(count);
    // The next refresh tries again: this time the bytes served are the listed ones.
    files.route('/a-3.raw', bytes(DISK_B));
    const again = events.length;
    await refresh();
    await heard('IMAGE_IMPORTED', A, again);
    expect(entry(await current(), A)).toMatchObject({
      state: 'IMPORTED',
      image: { state: 'AVAILABLE', sha512: sha(DISK_B) },
    });
  });

  it('expires every image of an expired list: they can make no new VM', async () => {
    await publish(
      await signList(
        trusted,
        list([image(A, '2', DISK_A2, '/a-2.raw')], new Date(Date.now() - 1000)),
      ),
    );
    const s = await refresh();
    expect(s.state).toBe('EXPIRED');
    const a = entry(s, A);
    expect(a).toMatchObject({
      state: 'EXPIRED',
      stateReason: expect.stringMatching(/its list expired/),
      image: { state: 'EXPIRED' },
    });
    const vm = await k.gql<{ vmCreate: { userErrors: Array<{ code: string; message: string }> } }>(
      'mutation($image: ID!) { vmCreate(input: {image: $image, name: "late", vcpus: 1, memoryBytes: "67108864"}) { userErrors { code message } } }',
      { image: a.image?.id },
      admin,
    );
    expect(vm.data?.vmCreate.userErrors[0]).toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/expired/),
    });
    const audit = await k.gql<{ auditEvents: { edges: Array<{ node: { action: string } }> } }>(
      '{ auditEvents(first: 100) { edges { node { action } } } }',
      {},
      admin,
    );
    const actions = audit.data?.auditEvents.edges.map((e) => e.node.action) ?? [];
    for (const kind of [
      'LIST_VERIFIED',
      'LIST_REJECTED',
      'IMAGE_IMPORTED',
      'IMAGE_EXPIRED',
      'IMAGE_IMPORT_FAILED',
      'LIST_EXPIRED',
    ])
      expect(actions).toContain(`imageList.${kind}`);
  });

  it('makes an image listed again usable again, and keeps it while the list is unreachable only until the last valid list expires', async () => {
    const lapse = new Date(Date.now() + 1500);
    const v3 = image(A, '3', DISK_B, '/a-3.raw');
    await publish(await signList(trusted, list([v3], lapse)));
    const back = await refresh();
    expect(back.state).toBe('VALID');
    expect(entry(back, A)).toMatchObject({ state: 'IMPORTED', image: { state: 'AVAILABLE' } });
    files.route('/list', (_req, res) => res.writeHead(503).end());
    const down = await refresh();
    expect(down).toMatchObject({ state: 'VALID', lastError: expect.stringMatching(/503/) });
    expect(entry(down, A).image?.state).toBe('AVAILABLE');
    await until(async () => Date.now() > lapse.getTime() || undefined, 5_000, 'the list to lapse');
    const lapsed = await refresh();
    expect(entry(lapsed, A)).toMatchObject({
      state: 'EXPIRED',
      stateReason: expect.stringMatching(/no newer valid list could be had/),
      image: { state: 'EXPIRED' },
    });
  });
});
