// bench/provisioning: BENCH_VMS small VMs created and running across two rig hosts, through Kumo
// (vmCreate, all at once, each followed to its operation's end) against the same libvirt calls
// made directly (per VM: the disk overlay on the cached image, define, start, state; all VMs at
// once over one connection per host, starting as many at a time per host as Kumo does). The controller is `node src/main.ts` in a child process on
// SQLite. Both sides use the image already cached on both hosts and the same domain XML (the raw
// side's is Kumo's own, taken from a warm-up VM, with its name, UUID, MAC and disk changed).
// Rounds alternate which side goes first. Prints each run's time, the ratio Kumo/raw over all
// rounds, and the controller's CPU time.
// Nothing is asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { ImageId, VmId } from '../../src/entities/ids.ts';
import type { PoolRef } from '../../src/libvirt/api/storage.ts';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import { volumeXml } from '../../src/libvirt/xml/storage.ts';
import { volumeOfImage } from '../../src/services/images/image-cache.ts';
import { Limiter } from '../../src/services/limiter.ts';
import { diskVolume } from '../../src/services/vms/vm-domain.ts';
import { rawId } from '../../test/api/support.ts';
import { rigDown, rigUpDetailed } from '../../test/rig/rig.ts';
import { bytes, serveFiles } from '../../test/support/file-server.ts';
import { ensureGuestNetwork } from '../../test/support/guest-network.ts';
import {
  benchAddRigHost,
  benchGql,
  benchImportImage,
  type ControllerProcess,
  cpuSecondsOf,
  removeAllVms,
  startRigController,
} from '../controller-process.ts';

const VMS = Number(process.env.BENCH_VMS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const MEMORY = 64 * 2 ** 20;
// The raw side starts as many at once per host as Kumo does (vms.startsPerHost, default 8).
const STARTS_PER_HOST = 8;
const DISK = Buffer.alloc(1024 * 1024);
// VIR_DOMAIN_XML_INACTIVE: the definition, not the running domain's state.
const XML_INACTIVE = 2;

const { rig, reused: rigReused } = await rigUpDetailed(2);
const hosts = rig.hosts.slice(0, 2);
const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-provisioning-'));
const files = await serveFiles();
files.route('/disk.raw', bytes(DISK));
let controller = null as ControllerProcess | null;
let adminToken = '';
let rawVms = null as Side | null;
const conns: LibvirtConnection[] = [];

/** Side is one way of provisioning: it makes VMS running VMs, then removes them. */
interface Side {
  readonly name: string;
  create(): Promise<void>;
  remove(): Promise<void>;
}

interface HostSide {
  readonly id: string;
  readonly conn: LibvirtConnection;
  readonly pool: PoolRef;
  /** template is a Kumo domain's XML on this host, and what in it names that VM. */
  readonly template: { xml: string; vmId: string; uuid: string; mac: string };
  /** basePath is the cached image's path in the host's pool. */
  readonly basePath: string;
  readonly starts: Limiter;
}

function kumoSide(url: string, token: string, hostIds: readonly string[]): Side {
  let made: string[] = [];
  return {
    name: 'Kumo',
    async create() {
      const ends = new Map<string, string>();
      const client = createClient({
        url: url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}` },
      });
      let wake: () => void = () => undefined;
      const stop = client.subscribe<{
        operationUpdated: { status: string; operation: { id: string } | null };
      }>(
        { query: 'subscription { operationUpdated { status operation { id } } }' },
        {
          next: (v) => {
            const e = v.data?.operationUpdated;
            if (e?.operation && e.status !== 'RUNNING' && e.status !== 'PENDING') {
              ends.set(e.operation.id, e.status);
              wake();
            }
          },
          error: (err) => console.log(`operationUpdated: ${JSON.stringify(err)}`),
          complete: () => undefined,
        },
      );
      try {
        const created = await Promise.all(
          Array.from({ length: VMS }, (_, i) =>
            benchGql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
              url,
              'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
              {
                input: {
                  image: imageId,
                  name: `p-${i}`,
                  vcpus: 1,
                  memoryBytes: String(MEMORY),
                  host: hostIds[i % hostIds.length],
                },
              },
              token,
            ),
          ),
        );
        made = created.map((c) => c.vmCreate.vm.id);
        const ops = created.map((c) => c.vmCreate.operation.id);
        // An end the subscription missed (it listens a moment after it is asked for) is read
        // once no event came for a second.
        while (ops.some((id) => !ends.has(id))) {
          const woken = await new Promise<boolean>((r) => {
            wake = () => r(true);
            setTimeout(() => r(false), 1000);
          });
          if (woken) continue;
          const open = ops.filter((id) => !ends.has(id));
          const r = await benchGql<{ nodes: Array<{ id: string; status: string } | null> }>(
            url,
            'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Operation { id status } } }',
            { ids: open },
            token,
          );
          for (const op of r.nodes)
            if (op && op.status !== 'RUNNING' && op.status !== 'PENDING')
              ends.set(op.id, op.status);
        }
        const failed = ops.filter((id) => ends.get(id) !== 'SUCCEEDED');
        if (failed.length > 0)
          throw new Error(`${failed.length} vmCreate operations did not succeed`);
      } finally {
        stop();
        await client.dispose();
      }
    },
    async remove() {
      await Promise.all(
        made.map((id) =>
          benchGql(
            url,
            'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId userErrors { message } } }',
            { id },
            token,
          ),
        ),
      );
      made = [];
    },
  };
}

function rawSide(sides: readonly HostSide[]): Side {
  let made: Array<{ side: HostSide; id: string }> = [];
  return {
    name: 'raw libvirt',
    async create() {
      made = Array.from({ length: VMS }, (_, i) => ({
        side: sides[i % sides.length] as HostSide,
        id: crypto.randomUUID(),
      }));
      await Promise.all(
        made.map(async ({ side, id }, i) => {
          const { conn, pool, template } = side;
          await conn.storage.createVolume(
            pool,
            volumeXml({
              name: diskVolume(id as VmId),
              capacityBytes: BigInt(DISK.length),
              format: 'qcow2',
              backing: { path: side.basePath, format: 'raw' },
            }),
          );
          const hex = i.toString(16).padStart(4, '0');
          const xml = template.xml
            .replaceAll(template.vmId, id)
            .replaceAll(template.uuid, crypto.randomUUID())
            .replaceAll(template.mac, `52:54:fd:00:${hex.slice(0, 2)}:${hex.slice(2)}`);
          const dom = await side.starts.run(async () => {
            const defined = await conn.domains.define(xml);
            await conn.domains.start(defined);
            return defined;
          });
          const { state } = await conn.domains.state(dom);
          if (state !== 'running') throw new Error(`raw VM ${id} is ${state}`);
        }),
      );
    },
    // Whatever of each VM exists: also after a run that failed half-way.
    async remove() {
      const gone = (err: unknown) => {
        if (!isNotFound(err)) throw err;
      };
      await Promise.all(
        made.map(async ({ side, id }) => {
          const dom = await side.conn.domains.lookupByName(`kumo-${id}`).catch(gone);
          if (dom) {
            await side.conn.domains.destroy(dom).catch(() => undefined);
            await side.conn.domains.undefine(dom);
          }
          const vol = await side.conn.storage
            .lookupVolume(side.pool, diskVolume(id as VmId))
            .catch(gone);
          if (vol) await side.conn.storage.deleteVolume(vol);
        }),
      );
      made = [];
    },
  };
}

let imageId = '';

async function run(): Promise<void> {
  const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  console.log(
    `provisioning: ${VMS} VMs (1 vCPU, ${MEMORY / 2 ** 20} MiB, a 1 MiB image) on ${hosts.map((h) => h.name).join(' and ')}, ${ROUNDS} rounds; Kumo ${rev}, node ${process.version}, ${execFileSync('nproc').toString().trim()} cores`,
  );
  const { controller: c, admin } = await startRigController(dataDir);
  controller = c;
  adminToken = admin;
  const hostIds: string[] = [];
  for (const h of hosts) {
    const conn = await LibvirtConnection.open(h.tlsUri);
    conns.push(conn);
    await ensureGuestNetwork(conn);
    const id = await benchAddRigHost(c.url, admin, h, rig.pki.clientDir);
    // The rig's hosts have two CPUs each; VMs idling in their BIOS share them densely.
    await benchGql(
      c.url,
      'mutation($id: ID!) { hostUpdate(input: {id: $id, cpuOvercommit: 64}) { host { id } } }',
      { id },
      admin,
    );
    hostIds.push(id);
  }
  imageId = await benchImportImage(c.url, admin, `${files.base}/disk.raw`, 'blank');

  // One warm-up VM per host through Kumo: the image is cached on both, and its domain is the
  // raw side's template. They stay up through the runs.
  const kumo = kumoSide(c.url, admin, hostIds);
  const sides: HostSide[] = [];
  for (const [i, conn] of conns.entries()) {
    const r = await benchGql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
      c.url,
      'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
      {
        input: {
          image: imageId,
          name: `warm-${i}`,
          vcpus: 1,
          memoryBytes: String(MEMORY),
          host: hostIds[i],
        },
      },
      admin,
    );
    const vmId = rawId(r.vmCreate.vm.id);
    let dom = null as Awaited<ReturnType<typeof conn.domains.lookupByName>> | null;
    while (!dom) {
      dom = await conn.domains.lookupByName(`kumo-${vmId}`).catch(() => null);
      if (!dom) await new Promise((res) => setTimeout(res, 200));
    }
    const xml = await conn.domains.xml(dom, XML_INACTIVE);
    const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1];
    const mac = /<mac address=['"]([^'"]+)['"]/.exec(xml)?.[1];
    if (!uuid || !mac) throw new Error(`no UUID or MAC in the domain XML:\n${xml}`);
    const pool = await conn.storage.lookupPool('kumo');
    const base = await conn.storage.lookupVolume(pool, volumeOfImage(rawId(imageId) as ImageId));
    sides.push({
      id: hostIds[i] as string,
      conn,
      pool,
      template: { xml, vmId, uuid, mac },
      basePath: await conn.storage.volumePath(base),
      starts: new Limiter(STARTS_PER_HOST),
    });
  }
  const raw = rawSide(sides);
  rawVms = raw;
  let kumoCpu = 0;
  const totals = new Map<string, number[]>([
    ['Kumo', []],
    ['raw libvirt', []],
  ]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? [raw, kumo] : [kumo, raw]) {
      const t0 = performance.now();
      const cpu0 = cpuSecondsOf(c.pid);
      await side.create();
      const s = (performance.now() - t0) / 1000;
      if (side === kumo) kumoCpu += cpuSecondsOf(c.pid) - cpu0;
      totals.get(side.name)?.push(s);
      console.log(`round ${round + 1}, ${side.name}: ${VMS} VMs running in ${s.toFixed(2)} s`);
      await side.remove();
    }
  }
  const sum = (xs: number[] | undefined) => (xs ?? []).reduce((x, y) => x + y, 0);
  const k = sum(totals.get('Kumo'));
  const r = sum(totals.get('raw libvirt'));
  console.log(
    `all rounds: Kumo ${k.toFixed(2)} s, raw ${r.toFixed(2)} s; Kumo/raw ${(k / r).toFixed(2)}x; the controller used ${kumoCpu.toFixed(1)} s of CPU for ${VMS * ROUNDS} VMs (${((kumoCpu * 1000) / (VMS * ROUNDS)).toFixed(0)} ms a VM)`,
  );
}

try {
  await run();
} finally {
  await rawVms
    ?.remove()
    .catch((err: unknown) => console.log(`removing the raw VMs: ${String(err)}`));
  if (controller && adminToken)
    await removeAllVms(controller.url, adminToken).catch((err: unknown) =>
      console.log(`removing Kumo's VMs: ${String(err)}`),
    );
  await controller?.stop();
  for (const conn of conns) await conn.close();
  await files.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (!rigReused && process.env.BENCH_KEEP_RIG !== '1')
    await rigDown().catch((err: unknown) => console.log(`the rig stays up: ${String(err)}`));
}
