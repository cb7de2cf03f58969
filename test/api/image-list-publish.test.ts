// Kumo as an endorser (VMcaster's role): one controller signs a list of its public images with
// a certificate from its config and serves the list and the image files to anyone; openssl
// verifies what it serves; a second controller trusts that endorser, subscribes, imports the
// images and starts a VM from one on a rig host; a new version of the list revokes and adds
// images at the subscriber; unpublishing stops serving it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { makeEndorser, type TestEndorser } from '../support/endorsers.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';
import { until } from '../support/wait.ts';
import {
  ADMIN,
  addRigHost,
  importImage,
  rawId,
  settled,
  startTestKumo,
  type TestKumo,
  vmOnHost,
} from './support.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
// No OS: SeaBIOS finds nothing to boot and waits, which is all starting a VM needs.
const DISK_1 = Buffer.alloc(MiB, 0);
const DISK_2 = Buffer.alloc(MiB, 1);
const sha = (b: Buffer) => createHash('sha512').update(b).digest('hex');
const DAY = 86_400_000;

let dir: string;
let endorser: TestEndorser;
let files: FileServer;
let pub: TestKumo;
let sub: TestKumo;
let pubAdmin: string;
let subAdmin: string;
let image1: string;
let listId: string;
let listUrl: string;
let subscriptionId: string;
let hv2: LibvirtConnection;

interface UserErrorView {
  code: string;
  field: string | null;
  message: string;
}
interface PublishedView {
  id: string;
  identifier: string;
  url: string;
  version: number;
  images: Array<{ id: string }>;
}
const PUBLISH = `mutation($input: ImageListPublishInput!) { imageListPublish(input: $input) {
  list { id identifier url version images { id } } userErrors { code field message } } }`;

async function publish(input: Record<string, unknown>) {
  const r = await pub.gql<{
    imageListPublish: { list: PublishedView | null; userErrors: UserErrorView[] };
  }>(
    PUBLISH,
    { input: { title: 'Kumo images', expiresAt: new Date(Date.now() + 7 * DAY), ...input } },
    pubAdmin,
  );
  if (!r.data) throw new Error(JSON.stringify(r));
  return r.data.imageListPublish;
}

async function makePublic(k: TestKumo, token: string, id: string, on = true) {
  const r = await k.gql(
    'mutation($id: ID!, $on: Boolean!) { imageUpdate(input: {id: $id, public: $on}) { userErrors { code message } } }',
    { id, on },
    token,
  );
  expect(r.errors).toBeUndefined();
}

interface EntryView {
  identifier: string;
  state: string;
  stateReason: string;
  image: { id: string; state: string; sha512: string } | null;
}
async function entries(): Promise<EntryView[]> {
  const r = await sub.gql<{ node: { entries: EntryView[] } }>(
    `query($id: ID!) { node(id: $id) { ... on ImageListSubscription {
      entries { identifier state stateReason image { id state sha512 } } } } }`,
    { id: subscriptionId },
    subAdmin,
  );
  return r.data?.node.entries ?? [];
}

async function refresh() {
  const r = await sub.gql<{
    imageListRefresh: { subscription: { state: string; lastError: string | null } };
  }>(
    'mutation($id: ID!) { imageListRefresh(input: {id: $id}) { subscription { state lastError } } }',
    { id: subscriptionId },
    subAdmin,
  );
  return r.data?.imageListRefresh.subscription;
}

// Waits until the subscriber's entry for `identifier` is in `state`.
function entryIn(identifier: string, state: string) {
  return until(
    async () => (await entries()).find((e) => e.identifier === identifier && e.state === state),
    30_000,
    `entry ${identifier} ${state}`,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kumo-publish-'));
  endorser = await makeEndorser(dir, 'publisher');
  files = await serveFiles();
  files.route('/one.raw', bytes(DISK_1));
  files.route('/two.raw', bytes(DISK_2));
  const loopback = { allowedAddresses: ['127.0.0.1/32'] };
  [pub, sub] = await Promise.all([
    startTestKumo(
      {},
      {
        overrides: {
          images: loopback,
          imageLists: {
            publisher: {
              certificateFile: endorser.certPath,
              keyFile: endorser.keyPath,
              creator: 'Kumo test cloud',
              email: 'ops@kumo.test',
            },
          },
        },
      },
    ),
    startTestKumo(
      {},
      {
        overrides: {
          images: loopback,
          vms: { network: 'kumo-guests', reconcileIntervalSeconds: 3600 },
        },
      },
    ),
  ]);
  [pubAdmin, subAdmin] = await Promise.all([
    pub.signIn(ADMIN.email, ADMIN.password),
    sub.signIn(ADMIN.email, ADMIN.password),
  ]);
  image1 = await importImage(pub, pubAdmin, `${files.base}/one.raw`, 'one');
}, 120_000);

afterAll(async () => {
  await hv2?.close();
  await Promise.all([pub?.stop(), sub?.stop()]);
  await files?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('publishing an image list', () => {
  it('refuses a private image, an expiry in the past, and a controller with no endorser certificate', async () => {
    const priv = await publish({ images: [image1] });
    expect(priv.userErrors[0]).toMatchObject({
      code: 'INVALID',
      field: 'input.images',
      message: expect.stringMatching(/not public/),
    });
    await makePublic(pub, pubAdmin, image1);
    const past = await publish({ images: [image1], expiresAt: new Date(Date.now() - DAY) });
    expect(past.userErrors[0]).toMatchObject({ code: 'INVALID', field: 'input.expiresAt' });
    const own = await importImage(sub, subAdmin, `${files.base}/one.raw`, 'own');
    await makePublic(sub, subAdmin, own);
    const r = await sub.gql<{ imageListPublish: { userErrors: UserErrorView[] } }>(
      PUBLISH,
      { input: { title: 't', images: [own], expiresAt: new Date(Date.now() + DAY) } },
      subAdmin,
    );
    expect(r.data?.imageListPublish.userErrors[0]).toMatchObject({
      code: 'REFUSED',
      message: expect.stringMatching(/no endorser certificate/),
    });
  });

  it('signs a list that openssl verifies, and serves it and its files to anyone', async () => {
    const out = await publish({ images: [image1], description: 'test images' });
    expect(out.userErrors).toEqual([]);
    const list = out.list as PublishedView;
    expect(list).toMatchObject({ version: 1, images: [{ id: image1 }] });
    listId = list.id;
    listUrl = list.url;
    expect(listUrl).toBe(`${new URL(pub.url).origin}/image-lists/${list.identifier}`);

    const served = await fetch(listUrl);
    expect(served.status).toBe(200);
    const signed = join(dir, 'served-list');
    await writeFile(signed, Buffer.from(await served.arrayBuffer()));
    const { stdout } = await run('openssl', [
      ...['smime', '-verify', '-in', signed, '-CAfile', endorser.caPath],
    ]);
    const json = JSON.parse(stdout)['hv:imagelist'];
    expect(json).toMatchObject({
      'dc:identifier': list.identifier,
      'dc:title': 'Kumo images',
      'dc:description': 'test images',
      'hv:uri': listUrl,
      'hv:version': '1',
      'hv:endorser': {
        'hv:x509': {
          'hv:dn': endorser.dn,
          'hv:ca': endorser.caDn,
          'dc:creator': 'Kumo test cloud',
          'hv:email': 'ops@kumo.test',
        },
      },
    });
    const [listed] = json['hv:images'];
    expect(listed['hv:image']).toMatchObject({
      'sl:checksum:sha512': sha(DISK_1),
      'hv:size': MiB,
      'hv:hypervisor': 'QEMU,KVM',
    });
    const file = await fetch(listed['hv:image']['hv:uri']);
    expect(file.status).toBe(200);
    expect(sha(Buffer.from(await file.arrayBuffer()))).toBe(sha(DISK_1));

    expect((await fetch(listUrl, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(listUrl, { method: 'POST' })).status).toBe(405);
    expect((await fetch(listUrl.replace(/.{4}$/, '0000'))).status).toBe(404);
  });
});

describe('a second Kumo following the list', () => {
  it('trusts the endorser, imports the image, and starts a VM from it on a rig host', async () => {
    const trust = await sub.gql<{ endorserAdd: { userErrors: unknown[] } }>(
      'mutation($dn: String!, $ca: String!) { endorserAdd(input: {dn: $dn, caCertificate: $ca}) { userErrors { code message } } }',
      { dn: endorser.dn, ca: endorser.caPem },
      subAdmin,
    );
    expect(trust.data?.endorserAdd.userErrors).toEqual([]);
    const r = await sub.gql<{
      imageListSubscribe: {
        subscription: { id: string; state: string; lastError: string | null } | null;
      };
    }>(
      'mutation($url: String!) { imageListSubscribe(input: {url: $url, autoImport: true}) { subscription { id state lastError } userErrors { code message } } }',
      { url: listUrl },
      subAdmin,
    );
    expect(r.data?.imageListSubscribe.subscription).toMatchObject({
      state: 'VALID',
      lastError: null,
    });
    subscriptionId = r.data?.imageListSubscribe.subscription?.id as string;
    const imported = await entryIn(rawId(image1), 'IMPORTED');
    expect(imported.image).toMatchObject({ state: 'AVAILABLE', sha512: sha(DISK_1) });

    const h = rigHost('hv2');
    hv2 = await openTls(h);
    await ensureGuestNetwork(hv2);
    await addRigHost(sub, subAdmin, 'hv2', { settings: { cpuOvercommit: 8 } });
    const created = await sub.gql<{
      vmCreate: {
        vm: { id: string } | null;
        operation: { id: string } | null;
        userErrors: unknown[];
      };
    }>(
      'mutation($image: ID!) { vmCreate(input: {image: $image, name: "from-list", vcpus: 1, memoryBytes: "67108864"}) { vm { id } operation { id } userErrors { code message } } }',
      { image: imported.image?.id },
      subAdmin,
    );
    expect(created.data?.vmCreate.userErrors).toEqual([]);
    const vmId = created.data?.vmCreate.vm?.id as string;
    const op = await settled(sub, created.data?.vmCreate.operation?.id as string, subAdmin);
    expect(op).toMatchObject({ status: 'SUCCEEDED' });
    expect((await vmOnHost(hv2, vmId)).domain).toBe('running');
    const removed = await sub.gql<{ vmRemove: { userErrors: unknown[] } }>(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { code message } } }',
      { id: vmId },
      subAdmin,
    );
    expect(removed.data?.vmRemove.userErrors).toEqual([]);
  });

  it('follows a new version of the list: the image left out expires, the one added is imported', async () => {
    const image2 = await importImage(pub, pubAdmin, `${files.base}/two.raw`, 'two');
    await makePublic(pub, pubAdmin, image2);
    const out = await publish({ list: listId, images: [image2] });
    expect(out.userErrors).toEqual([]);
    expect(out.list).toMatchObject({ id: listId, url: listUrl, version: 2 });
    expect(await refresh()).toMatchObject({ state: 'VALID', lastError: null });
    expect(await entryIn(rawId(image1), 'EXPIRED')).toMatchObject({
      stateReason: expect.stringMatching(/removed it from the list/),
      image: { state: 'EXPIRED' },
    });
    const added = await entryIn(rawId(image2), 'IMPORTED');
    expect(added.image?.sha512).toBe(sha(DISK_2));

    // An image made private since is no longer served, though the list still names it.
    const fileUrl = `${listUrl}/images/${rawId(image2)}`;
    expect((await fetch(fileUrl)).status).toBe(200);
    await makePublic(pub, pubAdmin, image2, false);
    expect((await fetch(fileUrl)).status).toBe(404);
  });

  it('finds an unpublished list gone, keeping its images until the version it holds expires', async () => {
    const r = await pub.gql<{ imageListUnpublish: { removedId: string | null } }>(
      'mutation($id: ID!) { imageListUnpublish(input: {id: $id}) { removedId userErrors { code message } } }',
      { id: listId },
      pubAdmin,
    );
    expect(r.data?.imageListUnpublish.removedId).toBe(listId);
    expect((await fetch(listUrl)).status).toBe(404);
    expect(await refresh()).toMatchObject({
      state: 'VALID',
      lastError: expect.stringMatching(/404/),
    });
    const kept = (await entries()).find((e) => e.state === 'IMPORTED');
    expect(kept?.image?.state).toBe('AVAILABLE');
  });
});
