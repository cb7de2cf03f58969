// The controller as deployed, for benchmarks: `node src/main.ts` in a child process configured by a
// file, so that its CPU and memory are its own and not the load generator's. With what benches
// read of it: its /metrics, its CPU time and its memory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { postGql } from '../test/api/support.ts';
import {
  type ControllerProcess,
  startControllerProcess as startProcess,
} from '../test/support/controller-process.ts';
import { GUEST_NETWORK } from '../test/support/guest-network.ts';

export type { ControllerProcess };

/**
 * startControllerProcess writes `config` to dataDir/kumo.json and starts a controller on it
 * with the flags scripts/start uses; resolves once it listens. BENCH_PROFILE_DIR makes it write
 * a CPU profile there when it stops.
 */
export function startControllerProcess(
  config: Record<string, unknown>,
  dataDir: string,
): Promise<ControllerProcess> {
  const configFile = join(dataDir, 'kumo.json');
  writeFileSync(configFile, JSON.stringify({ dataDir, ...config }));
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  return startProcess(configFile, ['--max-semi-space-size=64', ...profile]);
}

/** benchGql posts a GraphQL request and returns its data, throwing on any error. */
export async function benchGql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const body = await postGql<T>(url, query, variables, token ?? null);
  if (!body.data || body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body)}`);
  return body.data;
}

/** benchSignIn signs a user in and returns the session token. */
export async function benchSignIn(url: string, email: string, password: string): Promise<string> {
  const r = await benchGql<{ sessionCreate: { token: string } }>(
    url,
    'mutation($e: String!, $p: String!) { sessionCreate(input: {email: $e, password: $p}) { token } }',
    { e: email, p: password },
  );
  return r.sessionCreate.token;
}

/** scrapeMetrics reads the controller's /metrics: each series' value, by series. */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** cpuSecondsOf is the CPU time a process has used (user + system), from /proc. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** rssOf is a process's resident memory in bytes. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** inParallel runs work for each item, `limit` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** percentile is the q-quantile (0..1) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * removeAllVms removes every VM the controller knows (as an admin), so that a bench leaves no
 * domain or volume on the rig's hosts, however it ended.
 */
export async function removeAllVms(url: string, adminToken: string): Promise<void> {
  for (;;) {
    const page = await benchGql<{ vms: { edges: Array<{ node: { id: string } }> } }>(
      url,
      '{ vms(first: 100) { edges { node { id } } } }',
      {},
      adminToken,
    );
    if (page.vms.edges.length === 0) return;
    await inParallel(page.vms.edges, 8, async ({ node }) => {
      await benchGql(
        url,
        'mutation($id: ID!) { vmRemove(input: {id: $id}) { removedVmId userErrors { message } } }',
        { id: node.id },
        adminToken,
      );
    });
  }
}

/** benchAddRigHost adds a rig host over TLS as the admin and returns its id. */
export async function benchAddRigHost(
  url: string,
  adminToken: string,
  host: { readonly name: string; readonly ip: string },
  pkiDir: string,
): Promise<string> {
  const r = await benchGql<{ hostAdd: { host: { id: string } } }>(
    url,
    'mutation($input: HostAddInput!) { hostAdd(input: $input) { host { id } } }',
    {
      input: {
        name: host.name,
        uri: `qemu+tls://${host.ip}/system`,
        credentials: { tlsPkiPath: pkiDir },
      },
    },
    adminToken,
  );
  return r.hostAdd.host.id;
}

/** benchImportImage imports the image at `fileUrl` and returns its id once it is AVAILABLE. */
export async function benchImportImage(
  url: string,
  token: string,
  fileUrl: string,
  name: string,
): Promise<string> {
  const r = await benchGql<{ imageImport: { image: { id: string } } }>(
    url,
    'mutation($url: String!, $name: String!) { imageImport(input: {url: $url, name: $name}) { image { id } } }',
    { url: fileUrl, name },
    token,
  );
  const id = r.imageImport.image.id;
  for (;;) {
    const image = await benchGql<{ node: { state: string; stateReason: string } }>(
      url,
      'query($id: ID!) { node(id: $id) { ... on Image { state stateReason } } }',
      { id },
      token,
    );
    if (image.node.state === 'AVAILABLE') return id;
    if (image.node.state !== 'IMPORTING')
      throw new Error(`image ${name} is ${image.node.state}: ${image.node.stateReason}`);
    await sleep(200);
  }
}

/**
 * benchCreateVm makes a 1-vCPU VM of `memoryBytes` on the host as `token` and returns its id
 * once its creation succeeded (running).
 */
export async function benchCreateVm(
  url: string,
  token: string,
  vm: { image: string; name: string; memoryBytes: number; host: string },
): Promise<string> {
  const r = await benchGql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    url,
    'mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } } }',
    { input: { ...vm, vcpus: 1, memoryBytes: String(vm.memoryBytes) } },
    token,
  );
  for (;;) {
    const op = await benchGql<{ node: { status: string; error: string | null } }>(
      url,
      'query($id: ID!) { node(id: $id) { ... on Operation { status error } } }',
      { id: r.vmCreate.operation.id },
      token,
    );
    if (op.node.status === 'SUCCEEDED') return r.vmCreate.vm.id;
    if (op.node.status !== 'RUNNING' && op.node.status !== 'PENDING')
      throw new Error(`VM ${vm.name} was not made: ${op.node.status} ${op.node.error}`);
    await sleep(200);
  }
}

/** BENCH_ADMIN is the first admin of a bench's controller. */
export const BENCH_ADMIN = { email: 'admin@kumo.bench', password: 'bench-password-1' } as const;

/**
 * startRigController starts a controller for VMs on the rig's hosts (SQLite, images imported from
 * loopback, NICs on the rig's guest network) and signs its admin in.
 */
export async function startRigController(
  dataDir: string,
): Promise<{ controller: ControllerProcess; admin: string }> {
  const controller = await startControllerProcess(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: BENCH_ADMIN,
      auth: { scryptLog2N: 10, signInAttempts: 100_000 },
      localLibvirtUri: 'qemu:///system?socket=/nonexistent/libvirt-sock',
      images: { allowedAddresses: ['127.0.0.1/32'] },
      vms: { network: GUEST_NETWORK },
    },
    dataDir,
  );
  const admin = await benchSignIn(controller.url, BENCH_ADMIN.email, BENCH_ADMIN.password);
  return { controller, admin };
}
