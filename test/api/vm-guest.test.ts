// End to end through GraphQL with a real guest OS (test/guest): import → create on a TLS host
// and an SSH host → cloud-init → console → snapshot/revert → ACPI shutdown → clone → save as
// image → a VM from the saved image on the other host → disk writes metered across a restart
// and a live migration → remove everything.
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebSocketStream } from 'ws';
import type { VmId } from '../../src/entities/ids.ts';
import { UsageRecord } from '../../src/entities/usage-record.ts';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { GuestConsole, guestDomainType, guestImage } from '../guest/index.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until, within } from '../support/wait.ts';
import {
  ADMIN,
  addUser,
  type GqlResult,
  listening,
  openConsole,
  rawId,
  settled,
  sshCredentialsInput,
  sshPublicKey,
  startTestKumo,
  subscriber,
  type TestKumo,
  tlsCredentialsInput,
} from './support.ts';

// Bounds for TCG on a 2-core machine shared with other test files (a boot alone takes ~6 s).
const BUILD_MS = 600_000;
const BOOT_MS = 180_000;
const COMMAND_MS = 30_000;
const MiB = 1024n * 1024n;
const POOL = 'kumo';
const SSH_KEY = sshPublicKey('e2e@kumo');

interface VmView {
  id: string;
  name: string;
  state: string;
  stateReason: string;
  mac: string;
  host: { name: string } | null;
}
const VM_FIELDS = 'id name state stateReason mac host { name }';

let k: TestKumo;
let files: FileServer;
let admin: string;
let alice: string;
let imageId: string;
const conns = new Map<string, LibvirtConnection>();
const hostIds = new Map<string, string>();
const consoles: GuestConsole[] = [];

async function gql<T>(query: string, variables: Record<string, unknown>, token = alice) {
  const r: GqlResult<T> = await k.gql<T>(query, variables, token);
  if (!r.data || r.errors) throw new Error(JSON.stringify(r));
  return r.data;
}

// Runs a payload mutation and fails on any user error; returns the payload.
async function mutate<T>(
  name: string,
  inputType: string,
  input: Record<string, unknown>,
  fields: string,
  token = alice,
): Promise<T> {
  const data = await gql<Record<string, T & { userErrors: unknown[] }>>(
    `mutation($input: ${inputType}!) { ${name}(input: $input) { ${fields} userErrors { code field message } } }`,
    { input },
    token,
  );
  const out = data[name] as T & { userErrors: unknown[] };
  expect(out.userErrors, name).toEqual([]);
  return out;
}

async function vm(id: string): Promise<VmView> {
  const data = await gql<{ node: VmView }>(
    `query($id: ID!) { node(id: $id) { ... on Vm { ${VM_FIELDS} } } }`,
    {
      id,
    },
  );
  return data.node;
}

async function createVm(name: string, host: string, image = imageId): Promise<VmView> {
  const out = await mutate<{ vm: VmView; operation: { id: string } }>(
    'vmCreate',
    'VmCreateInput',
    {
      image,
      name,
      vcpus: 1,
      memoryBytes: String(128n * MiB),
      host: hostIds.get(host),
      sshKeys: [SSH_KEY],
      userData: '#!/bin/sh\necho "user-data says hello"\n',
      start: false,
    },
    `vm { ${VM_FIELDS} } operation { id }`,
    admin,
  );
  const op = await settled(k, out.operation.id, admin);
  expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
  // Made by the admin (who alone may pin a host), handed to Alice to own.
  await mutate(
    'vmShare',
    'VmShareInput',
    { id: out.vm.id, email: 'alice@kumo.test', role: 'OWNER' },
    'shares { role }',
    admin,
  );
  return vm(out.vm.id);
}

/** boot starts a stopped VM and attaches to its console before the guest prints anything. */
async function boot(id: string): Promise<GuestConsole> {
  const out = await mutate<{ vm: { state: string } }>(
    'vmStart',
    'VmIdInput',
    { id },
    'vm { state }',
  );
  expect(out.vm.state).toBe('RUNNING');
  const con = await attach(id);
  await con.waitFor('KUMO-GUEST READY', BOOT_MS);
  return con;
}

async function attach(id: string): Promise<GuestConsole> {
  const con = new GuestConsole(createWebSocketStream(await openConsole(k, id, alice)));
  consoles.push(con);
  return con;
}

async function shell(con: GuestConsole, command: string): Promise<string> {
  const r = await con.run(command, COMMAND_MS);
  expect(r.status, command).toBe(0);
  return r.output;
}

/** shutDown asks the guest to power off and waits for it to have done so by itself. */
async function shutDown(id: string): Promise<void> {
  const out = await mutate<{ operation: { id: string } }>(
    'vmShutdown',
    'VmShutdownInput',
    { id, timeoutSeconds: 120 },
    'operation { id }',
  );
  expect((await settled(k, out.operation.id, alice)).status).toBe('SUCCEEDED');
  expect(await vm(id)).toMatchObject({ state: 'STOPPED', stateReason: 'shut down by its guest' });
}

/** written is the disk bytes written recorded for a VM, summed over its usage records of every granularity. */
async function written(id: string): Promise<bigint> {
  const rows = await k.kumo.db.fork().find(UsageRecord, { vmId: rawId(id) as VmId });
  return rows.reduce((s, r) => s + BigInt(r.diskWriteBytes), 0n);
}

// Disk writes metering tests make in the guest (its disk is 32 MiB, mostly free), and what
// they may be counted above that: the FAT filesystem's own writes (both FATs, the directory
// entry) came to about 21 KiB for 8 MiB, and a new run adds the 512 bytes its boot writes.
const WRITE = 8n * MiB;
const SLACK = 256n * 1024n;

/** writeMiB writes WRITE bytes to /data/<name> in the guest, through to its disk. */
async function writeMiB(con: GuestConsole, name: string): Promise<void> {
  await shell(
    con,
    `dd if=/dev/urandom of=/data/${name} bs=1M count=${WRITE / MiB} 2>/dev/null && sync`,
  );
}

/**
 * expectCounted runs metering rounds, two at most (the "within two intervals": rounds
 * are driven by the tests here), until the VM's recorded writes have grown by WRITE since
 * `from`, and checks they grew by no more than SLACK above it: neither lost nor counted twice.
 */
async function expectCounted(id: string, from: bigint, what: string): Promise<void> {
  let grown = 0n;
  for (let round = 0; round < 2 && grown < WRITE; round++) {
    await k.kumo.metering.collect();
    grown = (await written(id)) - from;
  }
  expect(grown, what).toBeGreaterThanOrEqual(WRITE);
  expect(grown, what).toBeLessThanOrEqual(WRITE + SLACK);
}

/** migrate moves a VM live to `host` (an admin's call), running `meanwhile` over and over until it ends. */
async function migrate(id: string, host: string, meanwhile?: () => Promise<void>): Promise<void> {
  const out = await mutate<{ operation: { id: string } }>(
    'vmMigrate',
    'VmMigrateInput',
    { id, host: hostIds.get(host) },
    'operation { id }',
    admin,
  );
  let over = false;
  const done = settled(k, out.operation.id, admin).finally(() => {
    over = true;
  });
  while (meanwhile && !over) await meanwhile();
  expect(await done).toMatchObject({ status: 'SUCCEEDED', error: null });
}

async function onHost(host: string) {
  const conn = conns.get(host) as LibvirtConnection;
  const pool = await conn.storage.lookupPool(POOL);
  await conn.storage.refreshPool(pool);
  return {
    volumes: (await conn.storage.listVolumes(pool)).map((v) => v.name),
    domains: (await conn.domains.list()).map((d) => d.name),
  };
}

beforeAll(async () => {
  const image = await within(guestImage(), BUILD_MS, 'building the guest image');
  files = await serveFiles();
  files.route('/tiny.img', bytes(await readFile(image.path)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', shutdownTimeoutSeconds: 120 },
        // Metering rounds are run by the tests that check them.
        metering: { intervalSeconds: 3600 },
      },
    },
  );
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  alice = await addUser(k, admin, 'alice');
  const hosts = [
    {
      name: 'hv1',
      uri: `qemu+tls://${rigHost('hv1').ip}/system`,
      credentials: tlsCredentialsInput(rig().pki.clientDir),
    },
    {
      name: 'hv3',
      uri: `qemu+ssh://${rigHost('hv3').ip}/system`,
      credentials: sshCredentialsInput(rigHost('hv3')),
    },
  ];
  for (const h of hosts) {
    const conn = await openTls(rigHost(h.name as 'hv1' | 'hv3'));
    conns.set(h.name, conn);
    await ensureGuestNetwork(conn);
    const added = await mutate<{ host: { id: string } }>(
      'hostAdd',
      'HostAddInput',
      h,
      'host { id }',
      admin,
    );
    hostIds.set(h.name, added.host.id);
    // Where /dev/kvm cannot boot Linux (see test/guest/README.md), the admin picks TCG.
    await mutate(
      'hostUpdate',
      'HostUpdateInput',
      {
        id: added.host.id,
        cpuOvercommit: 8,
        acceleration: guestDomainType() === 'qemu' && rig().domainType === 'kvm' ? 'TCG' : 'AUTO',
      },
      'host { acceleration }',
      admin,
    );
  }
  const imported = await mutate<{ image: { id: string }; operation: { id: string } }>(
    'imageImport',
    'ImageImportInput',
    { url: `${files.base}/tiny.img`, name: 'tiny linux', sha512: image.sha512 },
    'image { id } operation { id }',
  );
  imageId = imported.image.id;
  expect((await settled(k, imported.operation.id, alice)).status).toBe('SUCCEEDED');
}, BUILD_MS + 120_000);

afterAll(async () => {
  for (const c of consoles) c.close();
  await k?.stop();
  await files?.close();
  for (const c of conns.values()) await c.close();
});

describe('a real guest through the API', () => {
  const made: VmView[] = [];
  let saved: string;

  it(
    'boots on a TLS host and an SSH host, with its cloud-init seed, and powers off on ACPI',
    async () => {
      const [first, second] = await Promise.all(
        ['hv1', 'hv3'].map(async (host) => {
          const v = await createVm(`tiny on ${host}`, host);
          expect(v).toMatchObject({ state: 'STOPPED', host: { name: host } });
          const con = await boot(v.id);
          const markers = con.markers();
          expect(markers).toContain(`INSTANCE-ID i-${rawId(v.id)}`);
          expect(markers).toContain(`SSH-KEY ${SSH_KEY}`);
          expect(markers).toContain('USER-DATA-END 0');
          expect(con.output).toContain('user-data says hello\n');
          expect(markers).toContainEqual(expect.stringMatching(new RegExp(`^NET eth0 ${v.mac} `)));
          expect(await shell(con, 'cat /root/.ssh/authorized_keys')).toBe(`${SSH_KEY}\n`);
          return { v, con };
        }),
      );
      made.push(first?.v as VmView, second?.v as VmView);

      // The second VM is shut down by its guest, answering the ACPI power button.
      const { v, con } = second as { v: VmView; con: GuestConsole };
      await shutDown(v.id);
      await con.waitFor('KUMO-GUEST POWEROFF', 0);
    },
    BOOT_MS * 2,
  );

  it(
    'reverts to a snapshot: a file written after it is gone, one written before stays',
    async () => {
      const v = made[0] as VmView;
      let con = await attach(v.id);
      await shell(con, 'echo before > /data/before.txt; sync');
      const snap = await mutate<{ snapshot: { id: string; withMemory: boolean } }>(
        'vmSnapshotCreate',
        'VmSnapshotCreateInput',
        { vm: v.id, name: 'clean' },
        'snapshot { id withMemory }',
      );
      expect(snap.snapshot.withMemory).toBe(true);
      await shell(con, 'echo after > /data/after.txt; sync');
      expect(await shell(con, 'ls /data')).toContain('after.txt');
      await mutate(
        'vmSnapshotRevert',
        'VmSnapshotIdInput',
        { id: snap.snapshot.id },
        'vm { state }',
      );
      expect((await vm(v.id)).state).toBe('RUNNING');
      // The guest resumes where the snapshot left it; a new console session reads it.
      con.close();
      con = await attach(v.id);
      const listing = await shell(con, 'ls /data');
      expect(listing).toContain('before.txt');
      expect(listing).not.toContain('after.txt');
      expect(await shell(con, 'cat /data/before.txt')).toBe('before\n');
      await mutate(
        'vmSnapshotDelete',
        'VmSnapshotIdInput',
        { id: snap.snapshot.id },
        'deletedSnapshotId',
      );
    },
    BOOT_MS,
  );

  it(
    'migrates the running guest live from a TLS host to an SSH host: memory, disk and console come along',
    async () => {
      const v = made[0] as VmView;
      const con = await attach(v.id);
      // /tmp is in the guest's memory, /data on its disk: both must arrive.
      await shell(con, 'echo in-memory > /tmp/live.txt; echo on-disk > /data/moved.txt; sync');
      const subscribed = listening(k, 'operationUpdated');
      const client = subscriber(k, admin);
      const phases: string[] = [];
      let copied = 0;
      const watching = (async () => {
        for await (const r of client.iterate<{
          operationUpdated: {
            status: string;
            migration: { phase: string; memoryProcessedBytes: number } | null;
          };
        }>({
          query: `subscription { operationUpdated { status migration { phase memoryProcessedBytes } } }`,
        })) {
          const m = r.data?.operationUpdated.migration;
          if (m && phases.at(-1) !== m.phase) phases.push(m.phase);
          if (m) copied = Math.max(copied, m.memoryProcessedBytes);
          if (r.data?.operationUpdated.status === 'SUCCEEDED') return;
        }
      })();
      await subscribed();
      const out = await mutate<{ operation: { id: string } }>(
        'vmMigrate',
        'VmMigrateInput',
        // Capped, so that the memory copy lasts long enough to be watched.
        { id: v.id, host: hostIds.get('hv3'), bandwidthMiBs: 24 },
        'operation { id }',
        admin,
      );
      const op = await settled(k, out.operation.id, admin);
      expect(op).toMatchObject({ status: 'SUCCEEDED', error: null });
      await within(watching, 10_000, 'the operation events');
      await client.dispose();
      expect(phases[0]).toBe('PREPARING');
      expect(phases).toContain('COPYING_MEMORY');
      expect(phases.at(-1)).toBe('CLEANING_UP');
      expect(copied).toBeGreaterThan(0);
      const done = await gql<{
        node: { migration: { downtimeMs: number | null; memoryTotalBytes: number } };
      }>(
        'query($id: ID!) { node(id: $id) { ... on Operation { migration { downtimeMs memoryTotalBytes } } } }',
        { id: out.operation.id },
        admin,
      );
      expect(done.node.migration.memoryTotalBytes).toBeGreaterThan(0);
      expect(done.node.migration.downtimeMs).toBeGreaterThan(0);

      expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv3' } });
      const id = rawId(v.id);
      const hv1 = await onHost('hv1');
      expect(hv1.domains).not.toContain(`kumo-${id}`);
      expect(hv1.volumes.filter((n) => n.includes(id))).toEqual([]);
      expect((await onHost('hv3')).domains).toContain(`kumo-${id}`);
      const after = await attach(v.id);
      expect(await shell(after, 'cat /tmp/live.txt /data/moved.txt')).toBe('in-memory\non-disk\n');
      made[0] = await vm(v.id);
    },
    BOOT_MS,
  );

  it(
    'cancels a migration while its disk is being copied: the guest runs on where it was, its data intact',
    async () => {
      const v = made[0] as VmView;
      const con = await attach(v.id);
      // Data the overlay must carry, so that the disk copy lasts (at the capped rate).
      const sum = await shell(
        con,
        'dd if=/dev/urandom of=/data/blob bs=1024 count=12288 2>/dev/null; sync; md5sum /data/blob',
      );
      const out = await mutate<{ operation: { id: string } }>(
        'vmMigrate',
        'VmMigrateInput',
        { id: v.id, host: hostIds.get('hv1'), bandwidthMiBs: 1 },
        'operation { id }',
        admin,
      );
      await until(
        async () => {
          const r = await gql<{ node: { migration: { phase: string } | null } }>(
            'query($id: ID!) { node(id: $id) { ... on Operation { migration { phase } } } }',
            { id: out.operation.id },
            admin,
          );
          return r.node.migration?.phase === 'COPYING_DISK' ? true : undefined;
        },
        30_000,
        'the disk copy',
      );
      await mutate(
        'operationCancel',
        'OperationCancelInput',
        { id: out.operation.id },
        'operation { id }',
        admin,
      );
      expect((await settled(k, out.operation.id, admin)).status).toBe('CANCELLED');
      expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: 'hv3' } });
      const hv1 = await onHost('hv1');
      expect(hv1.domains).not.toContain(`kumo-${rawId(v.id)}`);
      expect(hv1.volumes.filter((n) => n.includes(rawId(v.id)))).toEqual([]);
      expect(await shell(con, 'md5sum /data/blob')).toBe(sum);
      await shell(con, 'rm /data/blob; sync');
      if (guestDomainType() === 'qemu') {
        // Post-copy is refused under TCG, where QEMU can leave the guest hung after the switch.
        const r = await k.gql<{
          vmMigrate: { userErrors: Array<{ code: string; field: string }> };
        }>(
          'mutation($input: VmMigrateInput!) { vmMigrate(input: $input) { userErrors { code field } } }',
          { input: { id: v.id, host: hostIds.get('hv1'), postCopy: true } },
          admin,
        );
        expect(r.data?.vmMigrate.userErrors).toEqual([
          { code: 'REFUSED', field: 'input.postCopy' },
        ]);
      }
    },
    BOOT_MS,
  );

  it(
    'clones a stopped VM and saves it as an image; both boot with its disk, the image on the other host',
    async () => {
      const v = made[0] as VmView;
      await shutDown(v.id);

      const clone = await mutate<{ vm: VmView; operation: { id: string }; sourcePaused: boolean }>(
        'vmClone',
        'VmCloneInput',
        { id: v.id, name: 'tiny clone' },
        `vm { ${VM_FIELDS} } operation { id } sourcePaused`,
      );
      expect(clone.sourcePaused).toBe(false);
      expect((await settled(k, clone.operation.id, alice)).status).toBe('SUCCEEDED');
      expect(clone.vm.mac).not.toBe(v.mac);
      made.push(clone.vm);

      const image = await mutate<{ image: { id: string }; operation: { id: string } }>(
        'vmSaveAsImage',
        'VmSaveAsImageInput',
        { id: v.id, name: 'tiny with before.txt' },
        'image { id } operation { id }',
      );
      expect((await settled(k, image.operation.id, alice)).status).toBe('SUCCEEDED');
      saved = image.image.id;

      const fromImage = await createVm('from saved image', 'hv1', saved);
      made.push(fromImage);
      const [cloneCon, imageCon] = await Promise.all([boot(clone.vm.id), boot(fromImage.id)]);
      expect(await shell(cloneCon as GuestConsole, 'cat /data/before.txt')).toBe('before\n');
      expect((cloneCon as GuestConsole).markers()).toContainEqual(
        expect.stringMatching(new RegExp(`^NET eth0 ${clone.vm.mac} `)),
      );
      expect(await shell(imageCon as GuestConsole, 'cat /data/before.txt')).toBe('before\n');
    },
    BOOT_MS * 3,
  );

  // Metering, with the clone the test before booted: rounds are the tests' to run (the timer is
  // set to an hour), and a VM's use is the sum of its records.
  it(
    "meters the guest's disk writes: N MiB within two rounds, not reset by a restart, not lost or doubled by a live migration",
    async () => {
      const v = await vm((made.find((m) => m.name === 'tiny clone') as VmView).id);
      expect(v.state).toBe('RUNNING');
      let con = await attach(v.id);
      await k.kumo.metering.collect(); // a first sight: the baseline

      // What the guest writes is counted within two rounds.
      let from = await written(v.id);
      await writeMiB(con, 'a');
      await expectCounted(v.id, from, 'written');
      await shell(con, 'rm /data/a; sync');

      // Powered off and started again: a new run, whose counters start from zero. What it writes
      // before the first round that sees it counts too (a new run is no baseline).
      await k.kumo.metering.collect();
      from = await written(v.id);
      await shutDown(v.id);
      con = await boot(v.id);
      await writeMiB(con, 'b');
      await expectCounted(v.id, from, 'written after a restart');
      await shell(con, 'rm /data/b; sync');

      // Moved live with N MiB written since the last round: they are read on the source before
      // it ends there, and not again on the destination, whose counters start from zero.
      await k.kumo.metering.collect();
      from = await written(v.id);
      await writeMiB(con, 'c');
      const other = v.host?.name === 'hv1' ? 'hv3' : 'hv1';
      await migrate(v.id, other);
      expect(await vm(v.id)).toMatchObject({ state: 'RUNNING', host: { name: other } });
      await expectCounted(v.id, from, 'written before a migration');
      await shell(await attach(v.id), 'rm /data/c; sync');
    },
    BOOT_MS,
  );

  // From the destination's Prepare to the source's Confirm the domain runs on both hosts. A
  // round meanwhile counts it only on the host Kumo records it on (the source), then the
  // settle before Confirm reads the source's last figures: the destination's run counts from
  // zero afterwards, so nothing is counted twice.
  it(
    'counts a guest once when metering rounds run during its live migration',
    async () => {
      const v = await vm((made.find((m) => m.name === 'tiny clone') as VmView).id);
      const con = await attach(v.id);
      await k.kumo.metering.collect();
      const from = await written(v.id);
      await writeMiB(con, 'd');
      // Rounds as the timer would run them, one after another for as long as it lasts.
      await migrate(v.id, v.host?.name === 'hv1' ? 'hv3' : 'hv1', async () => {
        await k.kumo.metering.collect();
        await new Promise((r) => setTimeout(r, 200));
      });
      await shell(await attach(v.id), 'rm /data/d; sync');
      await expectCounted(v.id, from, 'written before a migration metered while it ran');
    },
    BOOT_MS,
  );

  it('removes every VM and image, leaving nothing on the hosts or in the store', async () => {
    for (const v of made) await mutate('vmRemove', 'VmIdInput', { id: v.id }, 'removedVmId');
    for (const id of [saved, imageId])
      await mutate('imageRemove', 'ImageRemoveInput', { id }, 'removedImageId');
    for (const host of ['hv1', 'hv3']) {
      const { volumes, domains } = await onHost(host);
      for (const v of made) {
        expect(domains).not.toContain(`kumo-${rawId(v.id)}`);
        expect(volumes.filter((n) => n.includes(rawId(v.id)))).toEqual([]);
      }
      for (const id of [saved, imageId]) expect(volumes).not.toContain(`img-${rawId(id)}`);
    }
    expect(await readdir(`${k.dataDir}/images`)).toEqual([]);
  });
});
