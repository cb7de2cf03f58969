// Metering on the rig (hv2, VMs without an OS, under KVM): each round reads the host's running
// domains in one call and adds what each VM used to its owner's minute records; a restarted VM
// counts its new run from zero. Then what is built on it: live metrics, showback for two users,
// and a consumption limit (disk bytes read, paused on overuse) that refuses reservations and
// pauses running VMs. Last, a host that stops answering holds no round and loses no use.
// Rounds are driven by the test (the timer is set to an hour).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Host } from '../../src/entities/host.ts';
import type { UserId, VmId } from '../../src/entities/ids.ts';
import { UsageRecord } from '../../src/entities/usage-record.ts';
import { StatsGroups } from '../../src/libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { UsageCollector, type VmUsage } from '../../src/services/metering/usage-collector.ts';
import { holdHostForFaults, pauseLibvirtd, resumeLibvirtd } from '../rig/index.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';
import { until } from '../support/wait.ts';
import {
  ADMIN,
  addRigHost,
  addUser,
  importImage,
  rawId,
  settled,
  startTestKumo,
  subscriber,
  type TestKumo,
} from './support.ts';

const MiB = 1024n * 1024n;

let k: TestKumo;
let files: FileServer;
let conn: LibvirtConnection;
let admin: string;
let alice: string;
let bob: string;
let vmId: string;
let bobVmId: string;
let imageId: string;

async function totals(): Promise<{ cpuNs: bigint; memoryByteSeconds: bigint; owners: string[] }> {
  const rows = await k.kumo.db.fork().find(UsageRecord, { vmId: rawId(vmId) as VmId });
  return {
    cpuNs: rows.reduce((s, r) => s + BigInt(r.cpuNs), 0n),
    memoryByteSeconds: rows.reduce((s, r) => s + BigInt(r.memoryByteSeconds), 0n),
    owners: [...new Set(rows.map((r) => r.owner.id as UserId))],
  };
}

// The VM has one vCPU, and metering counts vCPU time.
async function cpuTime(): Promise<bigint> {
  const dom = await conn.domains.lookupByName(`kumo-${rawId(vmId)}`);
  const [rec] = await conn.domains.stats([dom], StatsGroups.VCPU);
  return BigInt(rec?.stats['vcpu.0.time'] as bigint);
}

async function runVm(token: string, image: string, name: string): Promise<string> {
  const made = await k.gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
    { input: { image, name, vcpus: 1, memoryBytes: String(64n * MiB) } },
    token,
  );
  const op = await settled(k, made.data?.vmCreate.operation.id as string, token);
  expect(op.status).toBe('SUCCEEDED');
  return made.data?.vmCreate.vm.id as string;
}

interface UserErrorView {
  code: string;
  message: string;
  quota: { limit: string; max: string; used: string; requested: string } | null;
}
const ERRORS = 'userErrors { code message quota { limit max used requested } }';

async function tryAct(mutation: string): Promise<UserErrorView[]> {
  const r = await k.gql<Record<string, { userErrors: UserErrorView[] }>>(
    `mutation($id: ID!) { ${mutation}(input: {id: $id}) { ${ERRORS} } }`,
    { id: vmId },
    alice,
  );
  return r.data?.[mutation]?.userErrors ?? [];
}

async function act(mutation: string): Promise<void> {
  expect(await tryAct(mutation)).toEqual([]);
}

async function viewerId(token: string): Promise<string> {
  return (await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, token)).data?.viewer
    .id as string;
}

/** first is the first result of a subscription, or what it failed with. */
async function first<T>(token: string, query: string, variables: Record<string, unknown>) {
  const client = subscriber(k, token);
  try {
    for await (const r of client.iterate<T>({ query, variables })) return r;
    return null;
  } catch (err) {
    return { errors: [err], data: undefined };
  } finally {
    await client.dispose();
  }
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
        metering: { intervalSeconds: 3600 },
        quotas: { overuse: { diskReadBytes: { action: 'SUSPEND', graceSeconds: 0 } } },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  alice = await addUser(k, admin, 'alice');
  conn = await openTls(rigHost('hv2'));
  await ensureGuestNetwork(conn);
  await addRigHost(k, admin, 'hv2', { settings: { cpuOvercommit: 8 } });
  const image = await importImage(k, admin, `${files.base}/disk.raw`, 'blank');
  await k.gql(
    'mutation($id: ID!) { imageUpdate(input: {id: $id, public: true}) { image { id } } }',
    { id: image },
    admin,
  );
  bob = await addUser(k, admin, 'bob');
  imageId = image;
  vmId = await runVm(alice, image, 'metered');
  bobVmId = await runVm(bob, image, 'bobs');
}, 120_000);

afterAll(async () => {
  await k?.stop();
  await files?.close();
  await conn?.close();
});

describe('metering', () => {
  it("adds what a running VM uses to its owner's records, from the second reading on", async () => {
    await k.kumo.metering.collect();
    // A first sight is a baseline: nothing is recorded yet.
    expect(await totals()).toEqual({ cpuNs: 0n, memoryByteSeconds: 0n, owners: [] });
    // Rounds until the VM has held its memory for a second's worth and used some CPU.
    const after = await until(
      async () => {
        await k.kumo.metering.collect();
        const t = await totals();
        return t.cpuNs > 0n && t.memoryByteSeconds >= 64n * MiB ? t : undefined;
      },
      10_000,
      'a second of metered use',
    );
    expect(after.cpuNs).toBeGreaterThan(0n);
    // 64 MiB held for at least a second.
    expect(after.memoryByteSeconds).toBeGreaterThanOrEqual(64n * MiB);
    expect(after.owners).toEqual([rawId(await viewerId(alice))]);
  });

  it('counts a restarted VM from zero: its old run is neither counted again nor subtracted', async () => {
    await k.kumo.metering.collect();
    const before = await totals();
    await act('vmPowerOff');
    await act('vmStart');
    // Rounds until the new run has used some vCPU time (it may not have run at the first).
    const { added, run } = await until(
      async () => {
        await k.kumo.metering.collect();
        const run = await cpuTime();
        const added = (await totals()).cpuNs - before.cpuNs;
        return added > 0n ? { added, run } : undefined;
      },
      10_000,
      'vCPU time of the new run',
    );
    // All the new run used so far (read just after the round), and nothing of the old run.
    expect(added).toBeLessThanOrEqual(run);
  });
});

interface Amounts {
  cpuSeconds: number;
  memoryByteSeconds: string;
  diskReadBytes: string;
}
interface Report {
  total: Amounts;
  vms: Array<{
    vmId: string;
    vmName: string;
    total: Amounts;
    points: Array<{ granularity: string; used: Amounts }>;
  }>;
}
const AMOUNTS = 'cpuSeconds memoryByteSeconds diskReadBytes';
const REPORT = `query($u: ID, $from: DateTime!, $to: DateTime!) {
  usage(user: $u, from: $from, to: $to, granularity: MINUTE) {
    total { ${AMOUNTS} }
    vms { vmId vmName total { ${AMOUNTS} } points { granularity used { ${AMOUNTS} } } }
  }
}`;

async function dbTotals(id: string): Promise<{ memoryByteSeconds: bigint; diskReadBytes: bigint }> {
  const rows = await k.kumo.db.fork().find(UsageRecord, { vmId: rawId(id) as VmId });
  return {
    memoryByteSeconds: rows.reduce((s, r) => s + BigInt(r.memoryByteSeconds), 0n),
    diskReadBytes: rows.reduce((s, r) => s + BigInt(r.diskReadBytes), 0n),
  };
}

describe('what metering feeds', () => {
  it("streams a running VM's rates to whoever may see it, and to no one else", async () => {
    const query =
      'subscription($vm: ID!) { vmMetrics(vm: $vm) { vm { name } seconds cpuPercent memoryBytes diskWriteBytesPerSecond } }';
    type M = {
      vmMetrics: {
        vm: { name: string };
        seconds: number;
        cpuPercent: number;
        memoryBytes: string;
      };
    };
    let delivered = false;
    const heard = first<M>(alice, query, { vm: vmId }).finally(() => {
      delivered = true;
    });
    // Rounds until the subscription, registered meanwhile, hears one.
    await until(
      async () => {
        if (delivered) return true;
        await k.kumo.metering.collect();
        return undefined;
      },
      10_000,
      'a vmMetrics event',
    );
    const m = (await heard)?.data?.vmMetrics;
    expect(m?.vm.name).toBe('metered');
    expect(m?.seconds).toBeGreaterThan(0);
    expect(m?.memoryBytes).toBe(String(64n * MiB));
    expect(m?.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(m?.cpuPercent).toBeLessThanOrEqual(100);
    const refused = await first<M>(bob, query, { vm: vmId });
    expect(refused?.errors?.length).toBeGreaterThan(0);
  });

  it('reports showback for two users: per VM and in total, each their own (admins anyone)', async () => {
    await k.kumo.metering.collect();
    await k.kumo.metering.collect();
    const window = {
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: new Date(Date.now() + 120_000).toISOString(),
    };
    const report = async (token: string, u?: string) =>
      k.gql<{ usage: Report }>(REPORT, { ...window, u }, token);
    const mine = (await report(alice)).data?.usage as Report;
    const bobs = (await report(bob)).data?.usage as Report;
    for (const [r, id, name] of [
      [mine, vmId, 'metered'],
      [bobs, bobVmId, 'bobs'],
    ] as const) {
      expect(r.vms.map((v) => [v.vmId, v.vmName])).toEqual([[id, name]]);
      const [vm] = r.vms;
      const db = await dbTotals(id);
      expect(BigInt(vm?.total.memoryByteSeconds ?? -1)).toBe(db.memoryByteSeconds);
      expect(BigInt(r.total.memoryByteSeconds)).toBe(db.memoryByteSeconds);
      expect(BigInt(r.total.diskReadBytes)).toBe(db.diskReadBytes);
      expect(db.memoryByteSeconds).toBeGreaterThan(0n);
      const points = vm?.points ?? [];
      expect(points.every((p) => p.granularity === 'MINUTE')).toBe(true);
      expect(points.reduce((s, p) => s + BigInt(p.used.memoryByteSeconds), 0n)).toBe(
        db.memoryByteSeconds,
      );
    }
    expect((await report(admin, await viewerId(bob))).data?.usage).toEqual(bobs);
    expect((await report(alice, await viewerId(bob))).errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    const series = await k.gql<{ node: { metrics: Array<{ used: Amounts }> } }>(
      'query($id: ID!) { node(id: $id) { ... on Vm { metrics { used { memoryByteSeconds } } } } }',
      { id: vmId },
      alice,
    );
    const metrics = series.data?.node.metrics ?? [];
    expect(metrics.reduce((s, p) => s + BigInt(p.used.memoryByteSeconds), 0n)).toBe(
      (await dbTotals(vmId)).memoryByteSeconds,
    );
  });

  it('refuses reservations past a consumption limit and pauses running VMs when its policy says so', async () => {
    // A VM without an OS reads next to nothing, so the limit is 0: no use at all is allowed,
    // and it is reached from the start. (A guest's metered writes crossing a limit:
    // vm-guest.test.ts.)
    const aliceUser = await viewerId(alice);
    const setRead = (max: string | null) =>
      k.gql(
        'mutation($input: QuotaSetInput!) { quotaSet(input: $input) { userErrors { code } } }',
        { input: { user: aliceUser, diskReadBytes: max } },
        admin,
      );
    await setRead('0');
    // The next round sees the limit crossed; with no grace, alice's running VM is paused.
    await k.kumo.metering.collect();
    const vmView = async (id: string, token: string) =>
      (
        await k.gql<{
          node: { state: string; stateReason: string; overuse: { limit: string } | null };
        }>(
          'query($id: ID!) { node(id: $id) { ... on Vm { state stateReason overuse { limit suspendAt } } } }',
          { id },
          token,
        )
      ).data?.node;
    const paused = await vmView(vmId, alice);
    expect(paused?.state).toBe('PAUSED');
    expect(paused?.overuse?.limit).toBe('DISK_READ_BYTES');
    expect(paused?.stateReason).toMatch(/^paused: its owner has consumed \d+ diskReadBytes/);
    expect((await vmView(bobVmId, bob))?.state).toBe('RUNNING');

    const usage = await k.gql<{
      quotaUsage: Array<{ limit: string; max: string; used: string; periodEnd: string }>;
    }>('{ quotaUsage { limit max used periodEnd } }', {}, alice);
    const reads = usage.data?.quotaUsage.find((l) => l.limit === 'DISK_READ_BYTES');
    expect(reads?.max).toBe('0');
    const used = BigInt(reads?.used ?? -1);
    // Alice's one VM is all she consumed.
    expect(used).toBe((await dbTotals(vmId)).diskReadBytes);
    expect(new Date(reads?.periodEnd ?? 0).getTime()).toBeGreaterThan(Date.now());

    const created = await k.gql<{ vmCreate: { vm: null; userErrors: UserErrorView[] } }>(
      `mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } ${ERRORS} } }`,
      {
        input: {
          image: imageId,
          name: 'more',
          vcpus: 1,
          memoryBytes: String(64n * MiB),
          start: false,
        },
      },
      alice,
    );
    expect(created.data?.vmCreate.userErrors).toEqual([
      {
        code: 'QUOTA_EXCEEDED',
        message: expect.stringMatching(
          /^diskReadBytes consumed this period \(\d+\) has reached its limit of 0; nothing new can be reserved until /,
        ),
        quota: { limit: 'DISK_READ_BYTES', max: '0', used: String(used), requested: '0' },
      },
    ]);
    expect((await tryAct('vmResume')).map((e) => e.quota?.limit)).toEqual(['DISK_READ_BYTES']);

    // Lifting the limit: quotaUsageChanged says so at the next round, the mark goes, and the
    // VM may be resumed (the controller does not resume it by itself).
    const client = subscriber(k, alice);
    const changes: Array<string | null> = [];
    const watching = (async () => {
      for await (const r of client.iterate<{
        quotaUsageChanged: Array<{ limit: string; max: string | null }>;
      }>({
        query: 'subscription { quotaUsageChanged { limit max } }',
      })) {
        const max =
          r.data?.quotaUsageChanged.find((l) => l.limit === 'DISK_READ_BYTES')?.max ?? null;
        changes.push(max);
        if (max === null) return;
      }
    })();
    await until(
      async () => (changes.length > 0 ? true : undefined),
      10_000,
      'the first quota usage',
    );
    await setRead(null);
    await until(
      async () => {
        await k.kumo.metering.collect();
        return changes.includes(null) ? true : undefined;
      },
      10_000,
      'a quotaUsageChanged event',
    );
    await watching;
    await client.dispose();
    expect(changes[0]).toBe('0');
    expect((await vmView(vmId, alice))?.overuse).toBeNull();
    expect((await vmView(vmId, alice))?.state).toBe('PAUSED');
    await act('vmResume');
    expect((await vmView(vmId, alice))?.state).toBe('RUNNING');
  });
});

describe('a host that does not answer', () => {
  it('holds no round, is not asked twice, and its VMs are counted in full once it answers', async () => {
    const bobs = rawId(bobVmId) as VmId;
    const rounds: Array<{ at: Date; bobs: VmUsage | undefined }> = [];
    // A collector of its own, with a short interval: how long a round waits for a host.
    const quick = new UsageCollector({
      monitor: k.kumo.hosts,
      watch: k.kumo.replicas.leases,
      fork: () => k.kumo.db.fork(),
      intervalMs: 500,
      onRound: async (usage) => {
        rounds.push({ at: new Date(), bobs: usage.find((u) => u.vmId === bobs) });
      },
    });
    const hv2 = rigHost('hv2');
    const hostId = (await k.kumo.db.fork().findOneOrFail(Host, { name: 'hv2' })).id;
    await quick.collect();
    const baseline = rounds[0]?.bobs;
    expect(baseline?.seconds).toBe(0);
    const before = await dbTotals(bobVmId);
    const release = await holdHostForFaults(hv2);
    try {
      await pauseLibvirtd(hv2);
      // Each round goes on without hv2: the first stops waiting after an interval, the second
      // sends no call while the first is unanswered. Both end long before the keepalive would
      // give up on the host (3 s).
      await quick.collect();
      await quick.collect();
      expect(k.kumo.hosts.status(hostId).state).toBe('ONLINE');
    } finally {
      await resumeLibvirtd(hv2);
      release();
    }
    expect(rounds.slice(1).map((r) => r.bobs)).toEqual([undefined, undefined]);
    // Once hv2 answers again, its VMs' use since their last reading is counted, the pause
    // included: memory held over the whole time.
    const back = await until(
      async () => {
        await quick.collect();
        return rounds.at(-1)?.bobs;
      },
      10_000,
      'a reading of hv2 again',
    );
    const heldMs = BigInt(Math.round(back.seconds * 1000));
    expect(back.at.getTime() - (baseline?.at.getTime() ?? 0)).toBe(Number(heldMs));
    const after = await dbTotals(bobVmId);
    expect(after.memoryByteSeconds - before.memoryByteSeconds).toBe(
      (back.memoryBytes * heldMs) / 1000n,
    );
  });
});
