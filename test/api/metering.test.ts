// Metering on the rig (hv2, a VM without an OS, under KVM): each round reads the host's running
// domains in one call and adds what each VM used to its owner's minute records; a restarted VM
// counts its new run from zero. Rounds are driven by the test (the timer is set to an hour).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId, VmId } from '../../src/entities/ids.ts';
import { UsageRecord } from '../../src/entities/usage-record.ts';
import { StatsGroups } from '../../src/libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
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
  type TestKumo,
} from './support.ts';

const MiB = 1024n * 1024n;

let k: TestKumo;
let files: FileServer;
let conn: LibvirtConnection;
let admin: string;
let alice: string;
let vmId: string;

async function totals(): Promise<{ cpuNs: bigint; memoryByteSeconds: bigint; owners: string[] }> {
  const rows = await k.kumo.db.fork().find(UsageRecord, { vmId: rawId(vmId) as VmId });
  return {
    cpuNs: rows.reduce((s, r) => s + BigInt(r.cpuNs), 0n),
    memoryByteSeconds: rows.reduce((s, r) => s + BigInt(r.memoryByteSeconds), 0n),
    owners: [...new Set(rows.map((r) => r.owner.id as UserId))],
  };
}

async function cpuTime(): Promise<bigint> {
  const dom = await conn.domains.lookupByName(`kumo-${rawId(vmId)}`);
  const [rec] = await conn.domains.stats([dom], StatsGroups.CPU_TOTAL);
  return BigInt(rec?.stats['cpu.time'] as bigint);
}

async function act(mutation: string): Promise<void> {
  const r = await k.gql<Record<string, { userErrors: unknown[] }>>(
    `mutation($id: ID!) { ${mutation}(input: {id: $id}) { userErrors { code message } } }`,
    { id: vmId },
    alice,
  );
  expect(r.data?.[mutation]?.userErrors).toEqual([]);
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
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  alice = await addUser(k, admin, 'alice');
  conn = await openTls(rigHost('hv2'));
  await ensureGuestNetwork(conn);
  await addRigHost(k, admin, 'hv2', { settings: { cpuOvercommit: 8 } });
  const image = await importImage(k, alice, `${files.base}/disk.raw`, 'blank');
  const made = await k.gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
    {
      input: {
        image,
        name: 'metered',
        vcpus: 1,
        memoryBytes: String(64n * MiB),
      },
    },
    alice,
  );
  vmId = made.data?.vmCreate.vm.id as string;
  expect((await settled(k, made.data?.vmCreate.operation.id as string, alice)).status).toBe(
    'SUCCEEDED',
  );
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
    const aliceId = (await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, alice)).data
      ?.viewer.id as string;
    expect(after.owners).toEqual([rawId(aliceId)]);
  });

  it('counts a restarted VM from zero: its old run is neither counted again nor subtracted', async () => {
    await k.kumo.metering.collect();
    const before = await totals();
    await act('vmPowerOff');
    await act('vmStart');
    await k.kumo.metering.collect();
    const run = await cpuTime();
    const added = (await totals()).cpuNs - before.cpuNs;
    // All the new run used so far (read just after the round), and nothing of the old run.
    expect(added).toBeGreaterThan(0n);
    expect(added).toBeLessThanOrEqual(run);
  });
});
