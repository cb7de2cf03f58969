import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageList } from '../../src/services/image-lists/image-list-format.ts';
import {
  ADMIN,
  addUser,
  importImage,
  rawId,
  startTestKumo,
  type TestKumo,
} from '../api/support.ts';
import {
  listedImage,
  makeEndorser,
  signList,
  type TestEndorser,
  testList,
} from '../support/endorsers.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { until } from '../support/wait.ts';
import { kumo, type Ran } from './support.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DAY = 86_400_000;
const DISK_A = Buffer.alloc(MiB, 0x41);
const DISK_B = Buffer.alloc(MiB, 0x42);
const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';

let dir: string;
let files: FileServer;
let k: TestKumo;
// pub has an endorser certificate configured: it may publish lists.
let pub: TestKumo;
let trusted: TestEndorser;
let stranger: TestEndorser;
let publisher: TestEndorser;
let admin: Record<string, string>;
let bob: Record<string, string>;
let pubAdmin: Record<string, string>;
let bobId: string;

// Runs a command that must succeed and returns its output (the error shown if it did not).
async function ok(args: readonly string[], env = admin): Promise<string> {
  const r = await kumo(args, env);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

// Runs a command with --json that must succeed and parses what it printed.
async function json<T = Record<string, unknown>>(args: readonly string[], env = admin): Promise<T> {
  return JSON.parse(await ok([...args, '--json'], env)) as T;
}

// Runs a command that must fail with `status`, its message matching `why`.
async function fails(args: readonly string[], status: number, why: RegExp, env = admin) {
  const r: Ran = await kumo(args, env);
  expect(r.stderr).toMatch(why);
  expect(r.status).toBe(status);
  expect(r.stdout).toBe('');
}

function list(images: ImageList['images'], signer: TestEndorser): string {
  return testList(files.base, signer, images, {
    title: 'CLI test list',
    description: 'images for the CLI tests',
    version: '3',
  });
}

function image(identifier: string, title: string, disk: Buffer, path: string) {
  return listedImage(files, { identifier, title, version: '1', disk, path });
}

async function makePublic(t: TestKumo, token: string, id: string) {
  const r = await t.gql(
    'mutation($id: ID!) { imageUpdate(input: {id: $id, public: true}) { userErrors { code message } } }',
    { id },
    token,
  );
  expect(r.errors).toBeUndefined();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kumo-cli-admin-'));
  [trusted, stranger, publisher] = await Promise.all([
    makeEndorser(dir, 'trusted'),
    makeEndorser(dir, 'stranger'),
    makeEndorser(dir, 'publisher'),
  ]);
  files = await serveFiles();
  const loopback = { allowedAddresses: ['127.0.0.1/32'] };
  [k, pub] = await Promise.all([
    startTestKumo({}, { overrides: { images: loopback } }),
    startTestKumo(
      {},
      {
        overrides: {
          images: loopback,
          imageLists: {
            publisher: {
              certificateFile: publisher.certPath,
              keyFile: publisher.keyPath,
              creator: 'Kumo CLI test cloud',
              email: 'ops@kumo.test',
            },
          },
        },
      },
    ),
  ]);
  const config = join(dir, 'config');
  const env = (t: TestKumo, token: string) => ({
    KUMO_CONFIG_DIR: config,
    KUMO_SERVER: new URL(t.url).origin,
    KUMO_TOKEN: token,
  });
  const adminToken = await k.signIn(ADMIN.email, ADMIN.password);
  admin = env(k, adminToken);
  bob = env(k, await addUser(k, adminToken, 'bob'));
  pubAdmin = env(pub, await pub.signIn(ADMIN.email, ADMIN.password));
}, 120_000);

afterAll(async () => {
  await Promise.all([k?.stop(), pub?.stop()]);
  await files?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface LimitRow {
  limit: string;
  max: string | null;
  used: string;
  remaining: string | null;
}

describe('quotas', () => {
  it('sets only the limits given, in human sizes, and shows them with use and what remains', async () => {
    const set = await kumo(
      [
        ...['quota', 'set', 'bob@kumo.test', '--vms', '3', '--memory', '2G'],
        ...['--disk', '1.5T', '--cpu-seconds', '3600', '--net-tx=512M'],
      ],
      admin,
    );
    expect(set.status).toBe(0);
    expect(set.stdout).toBe(
      'set quota of bob@kumo.test: vms 3, memory 2 GiB, disk 1.5 TiB, cpu-seconds 3600, net-tx 512 MiB\n',
    );
    const again = await json<Record<string, unknown>>([
      ...['quota', 'set', 'bob@kumo.test', '--images', '4'],
    ]);
    bobId = again.user as string;
    expect(again).toMatchObject({
      vms: 3,
      images: 4,
      memoryBytes: String(2 * GiB),
      diskBytes: String(1.5 * 1024 * GiB),
      cpuSeconds: '3600',
      netTxBytes: String(512 * MiB),
      snapshots: null,
    });

    const limits = await json<LimitRow[]>(['quota', 'show', 'bob@kumo.test']);
    expect(limits).toHaveLength(13);
    const of = (name: string) => limits.find((l) => l.limit === name);
    expect(of('VMS')).toMatchObject({ max: '3', used: '0', remaining: '3' });
    expect(of('MEMORY_BYTES')).toMatchObject({ max: String(2 * GiB), used: '0' });
    expect(of('SNAPSHOTS')).toMatchObject({ max: null, remaining: null });

    const human = (await ok(['quota', 'show', bobId])).split('\n');
    expect(human[0]).toMatch(/^Limit\s+Max\s+Used\s+Remaining\s+Resets$/);
    const line = (option: string) => human.find((l) => l.startsWith(`${option} `));
    expect(line('memory')).toMatch(/^memory\s+2 GiB\s+0 B\s+2 GiB$/);
    expect(line('disk')).toMatch(/^disk\s+1\.5 TiB\s+0 B\s+1\.5 TiB$/);
    expect(line('snapshots')).toMatch(/^snapshots\s+-\s+0\s+-$/);
    expect(line('net-tx')).toMatch(/^net-tx\s+512 MiB\s+0 B\s+512 MiB\s+in \d/);
  });

  it('lifts a limit with none, and shows users their own limits', async () => {
    expect(await ok(['quota', 'set', 'bob@kumo.test', '--vms', 'none'])).toMatch(/vms none/);
    const own = await json<LimitRow[]>(['quota', 'show'], bob);
    expect(own.find((l) => l.limit === 'VMS')).toMatchObject({ max: null });
    expect(own.find((l) => l.limit === 'IMAGES')).toMatchObject({ max: '4' });
  });

  it('refuses a non-admin (4), a size or number it cannot read (2), and no limit at all (2)', async () => {
    await Promise.all([
      fails(['quota', 'set', bobId, '--vms', '10'], 4, /not allowed for this user/, bob),
      fails(['quota', 'set', 'bob@kumo.test', '--memory', '2X'], 2, /not a size: 2X/),
      fails(['quota', 'set', 'bob@kumo.test', '--memory', '1.5'], 2, /not a size/),
      fails(['quota', 'set', 'bob@kumo.test', '--vms', '-1'], 2, /--vms takes a whole/),
      fails(['quota', 'set', 'bob@kumo.test'], 2, /needs a limit to change/),
      fails(['quota', 'set', 'nobody@kumo.test', '--vms', '1'], 5, /no user nobody/),
      fails(['quota', 'show', 'bob@kumo.test', '--vms', '1'], 2, /has no option --vms/),
    ]);
  });
});

describe('usage', () => {
  it('reports zero for a user with no VMs, as a total row', async () => {
    const rows = await json<Array<Record<string, unknown>>>([
      ...['usage', '--user', 'bob@kumo.test'],
    ]);
    expect(rows).toEqual([
      {
        id: null,
        vm: 'total',
        cpuSeconds: 0,
        diskReadBytes: '0',
        diskWriteBytes: '0',
        netRxBytes: '0',
        netTxBytes: '0',
      },
    ]);
    const human = (await ok(['usage', '--since', '7d', '--granularity', 'day'], bob)).split('\n');
    expect(human[0]).toMatch(/^VM\s+CPU\s+Disk read\s+Disk written\s+Net in\s+Net out$/);
    expect(human[1]).toMatch(/^total\s+0\.0s\s+0 B\s+0 B\s+0 B\s+0 B$/);
    expect(await ok(['usage', '--from', '2025-01-01T00:00:00Z', '--to', '2025-01-02'])).toMatch(
      /^total\s/m,
    );
  });

  it('refuses a window or granularity it cannot read (2)', async () => {
    await Promise.all([
      fails(['usage', '--granularity', 'week'], 2, /MINUTE, HOUR or DAY, not WEEK/),
      fails(['usage', '--since', 'yesterday'], 2, /not a duration: yesterday/),
      fails(['usage', '--from', '2025-01-02', '--to', '2025-01-01'], 2, /ends before/),
      fails(['usage', '--from', '2025-01-02', '--since', '1d'], 2, /not both/),
    ]);
  });
});

interface AuditRow {
  action: string;
  actor: string | null;
  result: string;
  targetType: string;
  targetId: string | null;
  createdAt: string;
}

describe('the audit trail', () => {
  it('shows the quota changes and the refusal, newest first, filtered by action and actor', async () => {
    const events = await until(
      async () => {
        const rows = await json<AuditRow[]>(['audit', 'ls', '--action', 'quotaSet']);
        return rows.some((e) => e.result === 'DENIED') ? rows : undefined;
      },
      10_000,
      'the refused quotaSet in the audit trail',
    );
    expect(events.every((e) => e.action === 'quotaSet')).toBe(true);
    const times = events.map((e) => Date.parse(e.createdAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(events.filter((e) => e.result === 'OK')).toHaveLength(3);
    expect(events.find((e) => e.result === 'OK')).toMatchObject({
      actor: ADMIN.email,
      targetType: 'QUOTA',
    });
    expect(events.find((e) => e.result === 'DENIED')).toMatchObject({
      actor: 'bob@kumo.test',
    });
    const bobs = await json<AuditRow[]>(['audit', 'ls', '--actor', 'bob@kumo.test']);
    expect(bobs.map((e) => [e.action, e.result])).toEqual([['quotaSet', 'DENIED']]);

    const human = (await ok(['audit', 'ls', '--action', 'quotaSet', '--limit', '2'])).split('\n');
    expect(human[0]).toMatch(/^When\s+Actor\s+Action\s+Result\s+Target\s+Address\s+Message$/);
    expect(human.filter((l) => l !== '')).toHaveLength(3);
    expect(human.slice(1).join('\n')).toMatch(/quotaSet\s+(OK|DENIED)/);
    expect(await ok(['audit', 'ls', '--action', 'noSuchAction'])).toBe('');
  });

  it('is for admins only (4) and takes a positive limit (2)', async () => {
    await Promise.all([
      fails(['audit', 'ls'], 4, /not allowed/, bob),
      fails(['audit', 'ls', '--limit', '0'], 2, /--limit takes a whole number from 1, not 0/),
    ]);
  });
});

interface SubscriptionRow {
  id: string;
  url: string;
  state: string;
  title: string | null;
  listVersion: string | null;
  lastError: string | null;
}
interface EntryRow {
  id: string;
  identifier: string;
  title: string;
  state: string;
  image: { id: string; name: string } | null;
}

describe('endorsers', () => {
  it('trusts an endorser from a PEM file, lists it, refuses a duplicate and removes one by DN', async () => {
    expect(await ok(['endorser', 'add', trusted.dn, trusted.caPath])).toMatch(
      `trusting ${trusted.dn} under ${trusted.caDn}`,
    );
    const added = await json(['endorser', 'add', stranger.dn, stranger.caPath]);
    expect(added).toMatchObject({ dn: stranger.dn, caDn: stranger.caDn });
    const ls = await json<Array<{ dn: string }>>(['endorser', 'ls']);
    expect(ls.map((e) => e.dn).sort()).toEqual([stranger.dn, trusted.dn].sort());
    const human = (await ok(['endorser', 'ls'])).split('\n');
    expect(human[0]).toMatch(/^ID\s+DN\s+CA\s+Added$/);
    expect(human.find((l) => l.includes(trusted.dn))).toMatch(/^[0-9a-f]{8}\s/);

    await Promise.all([
      fails(['endorser', 'add', trusted.dn, trusted.caPath], 1, /error: /),
      fails(['endorser', 'add', '/CN=x', trusted.certPath], 1, /not a CA certificate/),
      fails(['endorser', 'add', '/CN=x', join(dir, 'missing.pem')], 2, /cannot read/),
      fails(['endorser', 'ls'], 4, /not allowed/, bob),
    ]);

    expect(await ok(['endorser', 'rm', stranger.dn])).toBe(`no longer trusting ${stranger.dn}\n`);
    await fails(['endorser', 'rm', stranger.dn], 5, /no endorser/);
    expect((await json<unknown[]>(['endorser', 'ls'])).length).toBe(1);
  });
});

describe('followed image lists', () => {
  let listUrl: string;
  let subscription: SubscriptionRow;

  it('follows a list signed by a trusted endorser and shows its images', async () => {
    listUrl = `${files.base}/list`;
    files.route(
      '/list',
      bytes(
        await signList(
          trusted,
          list([image(A, 'alpha', DISK_A, '/a.raw'), image(B, 'beta', DISK_B, '/b.raw')], trusted),
        ),
      ),
    );
    expect(await ok(['list', 'subscribe', listUrl])).toMatch(
      new RegExp(`^following ${listUrl} \\([0-9a-f]{8}\\): VALID\\n$`),
    );
    const subs = await json<SubscriptionRow[]>(['list', 'ls']);
    expect(subs).toEqual([
      expect.objectContaining({
        url: listUrl,
        state: 'VALID',
        title: 'CLI test list',
        listVersion: '3',
        lastError: null,
      }),
    ]);
    subscription = subs[0] as SubscriptionRow;
    const human = (await ok(['list', 'ls'])).split('\n');
    expect(human[0]).toMatch(/^ID\s+URL\s+State\s+Title\s+Version\s+Expires\s+Checked\s+Error$/);
    expect(human[1]).toMatch(/^[0-9a-f]{8}\s+\S+\s+VALID\s+CLI test list\s+3\s+in 29d/);

    const short = (human[1] as string).slice(0, 8);
    const entries = await json<EntryRow[]>(['list', 'show', short]);
    expect(entries.map((e) => [e.title, e.identifier, e.state, e.image])).toEqual([
      ['alpha', A, 'AVAILABLE', null],
      ['beta', B, 'AVAILABLE', null],
    ]);
    const shown = (await ok(['list', 'show', subscription.id])).split('\n');
    expect(shown[0]).toMatch(/^ID\s+Title\s+Version\s+State\s+Image\s+Reason$/);
    expect(shown[1]).toMatch(/^[0-9a-f]{8}\s+alpha\s+1\s+AVAILABLE\s+-/);
  });

  it('imports a listed image, waiting for it, or not with --no-wait', async () => {
    const imported = await kumo(['list', 'import', 'alpha'], admin);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/^imported alpha 1 as image alpha \([0-9a-f]{8}\)\n$/);
    expect(imported.status).toBe(0);

    const started = await json<{ operation: string }>(['list', 'import', 'beta', '--no-wait']);
    expect(started.operation).toEqual(expect.any(String));
    expect(await ok(['operation', 'watch', started.operation])).toMatch(/succeeded/);

    const entries = await until(
      async () => {
        const e = await json<EntryRow[]>(['list', 'show', listUrl]);
        return e.every((x) => x.state === 'IMPORTED') ? e : undefined;
      },
      15_000,
      'both entries imported',
    );
    expect(entries.map((e) => e.image?.name)).toEqual(['alpha', 'beta']);
    expect(await ok(['list', 'show', listUrl])).toMatch(/alpha\s+1\s+IMPORTED\s+alpha/);
    await fails(['list', 'import', 'gamma'], 5, /no list image gamma/);
  });

  it('rejects a list signed by an unknown CA, saying why', async () => {
    const url = `${files.base}/stranger-list`;
    files.route(
      '/stranger-list',
      bytes(await signList(stranger, list([image(A, 'alpha', DISK_A, '/a.raw')], stranger))),
    );
    expect(await ok(['list', 'subscribe', url, '--auto-import', '--public'])).toMatch(
      /: REJECTED: .*UNTRUSTED/,
    );
    const subs = await json<SubscriptionRow[]>(['list', 'ls']);
    expect(subs.find((s) => s.url === url)).toMatchObject({
      state: 'REJECTED',
      lastError: expect.stringMatching(/no chain leads to a trusted CA/),
      autoImport: true,
      publicImages: true,
    });
    expect(await ok(['list', 'refresh', url])).toMatch(`checked ${url}: REJECTED: `);
    expect(await ok(['list', 'ls'])).toMatch(/REJECTED\s.*UNTRUSTED/);
    expect(await ok(['list', 'unsubscribe', url])).toBe(`no longer following ${url}\n`);
  });

  it('refuses non-admins (4) and lists it does not follow (5)', async () => {
    await Promise.all([
      fails(['list', 'ls'], 4, /not allowed/, bob),
      fails(['list', 'show', 'ffffffff'], 5, /no image list ffffffff/),
      fails(['list', 'subscribe'], 2, /needs <url>/),
    ]);
  });

  it('stops following a list', async () => {
    expect(await ok(['list', 'refresh', subscription.id])).toMatch(/: VALID\n$/);
    expect(await ok(['list', 'unsubscribe', rawId(subscription.id).slice(0, 8)])).toBe(
      `no longer following ${listUrl}\n`,
    );
    expect(await json<unknown[]>(['list', 'ls'])).toEqual([]);
    await fails(['list', 'unsubscribe', listUrl], 5, /no image list/);
  });
});

describe('publishing lists', () => {
  it('refuses without an endorser certificate configured (1), and a command line missing parts (2)', async () => {
    const id = await importImage(k, admin.KUMO_TOKEN as string, `${files.base}/a.raw`, 'mine');
    await makePublic(k, admin.KUMO_TOKEN as string, id);
    await Promise.all([
      fails(
        ['list', 'publish', 'Kumo images', 'mine', '--expires', '20d'],
        1,
        /no endorser certificate/,
      ),
      fails(['list', 'publish', 'Kumo images', '--expires', '30d'], 2, /needs an <image>/),
      fails(['list', 'publish', 'Kumo images', 'mine'], 2, /needs --expires/),
      fails(['list', 'publish', 'T', 'mine', '--expires', 'soon'], 2, /not a time: soon/),
      fails(['list', 'publish', 'T', 'nothing', '--expires', '1d'], 5, /no image nothing/),
    ]);
  });

  it('publishes a list, a new version of it, lists them, and unpublishes; another Kumo follows it', async () => {
    const token = pubAdmin.KUMO_TOKEN as string;
    await makePublic(pub, token, await importImage(pub, token, `${files.base}/a.raw`, 'one'));
    await makePublic(pub, token, await importImage(pub, token, `${files.base}/b.raw`, 'two'));
    const first = await kumo(
      [
        ...['list', 'publish', 'Kumo images', 'one', 'two'],
        ...['--expires', '20d', '--description', 'test images'],
      ],
      pubAdmin,
    );
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/^published Kumo images version 1 at http:\/\/\S+\n$/);
    const url = (first.stdout.match(/at (\S+)\n/) as RegExpMatchArray)[1] as string;

    const next = await json<{ version: number; url: string; images: Array<{ name: string }> }>(
      [
        ...['list', 'publish', 'Kumo images', 'two', '--list', 'Kumo images'],
        ...['--expires', new Date(Date.now() + 7 * DAY).toISOString()],
      ],
      pubAdmin,
    );
    expect(next).toMatchObject({ version: 2, url, images: [{ name: 'two' }] });

    const published = await json<Array<Record<string, unknown>>>(['list', 'published'], pubAdmin);
    expect(published).toEqual([
      expect.objectContaining({
        title: 'Kumo images',
        version: 2,
        url,
        description: 'test images',
      }),
    ]);
    const human = (await ok(['list', 'published'], pubAdmin)).split('\n');
    expect(human[0]).toMatch(/^ID\s+Title\s+Version\s+Images\s+Expires\s+URL$/);
    expect(human[1]).toMatch(/^[0-9a-f]{8}\s+Kumo images\s+2\s+1\s+in 6d 23h\s+http/);

    // The first controller trusts the publisher and follows what it serves.
    await ok(['endorser', 'add', publisher.dn, publisher.caPath]);
    expect(await ok(['list', 'subscribe', url])).toMatch(/: VALID\n$/);
    expect(await json<EntryRow[]>(['list', 'show', url])).toEqual([
      expect.objectContaining({ title: 'two', state: 'AVAILABLE' }),
    ]);

    expect(await ok(['list', 'unpublish', 'Kumo images'], pubAdmin)).toBe(
      `unpublished Kumo images (${url})\n`,
    );
    expect(await json<unknown[]>(['list', 'published'], pubAdmin)).toEqual([]);
    await fails(['list', 'unpublish', 'Kumo images'], 5, /no published list/, pubAdmin);
    expect(await ok(['list', 'refresh', url])).toMatch(/VALID: .*404/);
    await ok(['list', 'unsubscribe', url]);
  });
});
