// bench/exec: commands and a file in VMs through Kumo (vmExec and vmFilePut, followed to the end
// with execOutput over graphql-ws, as the CLI does) against the same work done with the guest
// agent directly through libvirt (guest-exec with its output captured, guest-exec-status polled
// at 20 ms; guest-file-open/write/close in the same 64 KiB chunks). Three VMs of the test guest
// (TCG) on two rig hosts over TLS, a controller in-process on SQLite. Prints medians and the
// ratios Kumo/raw. Nothing is asserted.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AGENT_CHUNK_BYTES } from '../../src/libvirt/api/agent.ts';
import type { DomainRef } from '../../src/libvirt/api/domains.ts';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import {
  ADMIN,
  importImage,
  rawId,
  settled,
  startTestKumo,
  subscriber,
  tlsCredentialsInput,
} from '../../test/api/support.ts';
import { buildGuestImage } from '../../test/guest/build.ts';
import { rigUp } from '../../test/rig/index.ts';
import { bytes, serveFiles } from '../../test/support/file-server.ts';
import { ensureGuestNetwork } from '../../test/support/guest-network.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
// Sent as text in the request, under the API's 1 MiB body limit.
const FILE_BYTES = Number(process.env.BENCH_FILE_KIB ?? 768) * 1024;
const BOOT_MS = 240_000;

interface Guest {
  readonly id: string;
  readonly conn: LibvirtConnection;
  readonly dom: DomainRef;
}

const rig = await rigUp(2);
const image = await buildGuestImage();
const files = await serveFiles();
files.route('/guest.img', bytes(await readFile(image.path)));
const k = await startTestKumo(
  {},
  {
    overrides: {
      images: { allowedAddresses: ['127.0.0.1/32'] },
      vms: { network: 'kumo-guests' },
      exec: { filePaths: ['/tmp'] },
    },
  },
);
const admin = await k.signIn(ADMIN.email, ADMIN.password);
const conns: LibvirtConnection[] = [];

async function gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  const r = await k.gql<T>(query, variables, admin);
  if (!r.data || r.errors) throw new Error(JSON.stringify(r));
  return r.data;
}

// A VM on the host, started, its agent answering.
async function guest(name: string, hostId: string, conn: LibvirtConnection): Promise<Guest> {
  const r = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
    {
      input: {
        image: imageId,
        name,
        vcpus: 1,
        memoryBytes: String(128 * 2 ** 20),
        host: hostId,
      },
    },
  );
  const op = await settled(k, r.vmCreate.operation.id, admin);
  if (op.status !== 'SUCCEEDED') throw new Error(`creating ${name}: ${JSON.stringify(op)}`);
  const dom = await conn.domains.lookupByName(`kumo-${rawId(r.vmCreate.vm.id)}`);
  const until = Date.now() + BOOT_MS;
  for (;;) {
    const up = await conn.agent.command(dom, 'guest-ping').then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > until) throw new Error(`${name}: the guest agent never answered`);
    await sleep(500);
  }
  return { id: r.vmCreate.vm.id, conn, dom };
}

/** kumoRun runs a Kumo mutation and follows every execution it made to its final state. */
async function kumoRun(mutation: 'vmExec' | 'vmFilePut', input: Record<string, unknown>) {
  const type = mutation === 'vmExec' ? 'VmExecInput' : 'VmFilePutInput';
  const data = await gql<Record<string, { results: Array<{ execution: { id: string } | null }> }>>(
    `mutation($input: ${type}!) { ${mutation}(input: $input) { results { execution { id } } } }`,
    { input },
  );
  const ids = (data[mutation]?.results ?? []).map((r) => r.execution?.id);
  const client = subscriber(k, admin);
  try {
    await Promise.all(
      ids.map(async (id) => {
        if (!id) throw new Error(`${mutation} was refused`);
        let state = '';
        for await (const e of client.iterate<{ execOutput: { state?: string } }>({
          query:
            'subscription($e: ID!) { execOutput(execution: $e) { ... on ExecStateChange { state } } }',
          variables: { e: id },
        }))
          state = e.data?.execOutput.state ?? state;
        if (state !== 'FINISHED') throw new Error(`${mutation} ended ${state}`);
      }),
    );
  } finally {
    await client.dispose();
  }
}

/** rawRun runs `argv` with the agent directly and waits for its exit and output. */
async function rawRun(g: Guest, argv: readonly string[]): Promise<void> {
  const pid = await g.conn.agent.exec(g.dom, {
    path: argv[0] as string,
    args: argv.slice(1),
    captureOutput: true,
  });
  while (!(await g.conn.agent.execStatus(g.dom, pid)).exited) await sleep(20);
}

/** rawPut writes a file with the agent directly, in Kumo's chunk size. */
async function rawPut(g: Guest, path: string, data: Buffer): Promise<void> {
  const handle = await g.conn.agent.fileOpen(g.dom, path, 'w');
  await g.conn.agent.fileWrite(g.dom, handle, data);
  await g.conn.agent.fileClose(g.dom, handle);
}

async function timed(work: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

let imageId = '';
const guests: Guest[] = [];
try {
  const hostIds: string[] = [];
  for (const h of rig.hosts.slice(0, 2)) {
    const conn = await LibvirtConnection.open(h.tlsUri);
    conns.push(conn);
    await ensureGuestNetwork(conn);
    const r = await gql<{ hostAdd: { host: { id: string } } }>(
      'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } } }',
      {
        input: {
          name: h.name,
          uri: `qemu+tls://${h.ip}/system`,
          credentials: tlsCredentialsInput(rig.pki.clientDir),
        },
      },
    );
    hostIds.push(r.hostAdd.host.id);
  }
  imageId = await importImage(k, admin, `${files.base}/guest.img`, 'guest');
  const [c1, c2] = conns as [LibvirtConnection, LibvirtConnection];
  const [h1, h2] = hostIds as [string, string];
  guests.push(
    ...(await Promise.all([
      guest('bench-a', h1, c1),
      guest('bench-b', h1, c1),
      guest('bench-c', h2, c2),
    ])),
  );
  const [one] = guests as [Guest];
  const file = randomBytes(FILE_BYTES).toString('base64').slice(0, FILE_BYTES);
  console.log(
    `exec: ${ROUNDS} rounds, 3 test-guest VMs (TCG, 128 MiB) on ${rig.hosts[0]?.name} and ${rig.hosts[1]?.name} over TLS, a ${FILE_BYTES / 1024} KiB file in ${AGENT_CHUNK_BYTES / 1024} KiB chunks\n`,
  );

  const cases: Array<{
    name: string;
    kumo: () => Promise<void>;
    raw: () => Promise<void>;
  }> = [
    {
      name: '`true` in one VM',
      kumo: () => kumoRun('vmExec', { vms: [one.id], command: 'true' }),
      raw: () => rawRun(one, ['/bin/sh', '-c', 'true']),
    },
    {
      name: '`true` in three VMs at once',
      kumo: () => kumoRun('vmExec', { vms: guests.map((g) => g.id), command: 'true' }),
      raw: async () => {
        await Promise.all(guests.map((g) => rawRun(g, ['/bin/sh', '-c', 'true'])));
      },
    },
    {
      name: 'a file to one VM',
      kumo: () =>
        kumoRun('vmFilePut', {
          vms: [one.id],
          path: '/tmp/bench.bin',
          content: file,
        }),
      raw: () => rawPut(one, '/tmp/bench-raw.bin', Buffer.from(file)),
    },
  ];
  for (const c of cases) {
    // One of each first, to warm both up.
    await c.kumo();
    await c.raw();
    const kumo: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so drift hits both.
      if (round % 2 === 0) {
        kumo.push(await timed(c.kumo));
        raw.push(await timed(c.raw));
      } else {
        raw.push(await timed(c.raw));
        kumo.push(await timed(c.kumo));
      }
    }
    const [km, rm] = [median(kumo), median(raw)];
    console.log(
      `${c.name.padEnd(30)} Kumo ${km.toFixed(0).padStart(6)} ms   raw ${rm.toFixed(0).padStart(6)} ms   Kumo/raw ${(km / rm).toFixed(2)}x`,
    );
  }
} finally {
  for (const g of guests)
    await gql('mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { message } } }', {
      id: g.id,
    }).catch(() => undefined);
  for (const c of conns) await c.close();
  await k.stop();
  await files.close();
}
