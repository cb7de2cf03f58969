// vmExec and vmFilePut end to end: three VMs of the test guest (with its QEMU guest agent) on
// two rig hosts, a TLS one and an SSH one; files delivered, commands run, output followed
// through execOutput over graphql-ws, timeouts and cancels killing process trees, a VM whose
// agent is stopped failing alone, and rights decided per VM.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebSocketStream } from 'ws';
import { GuestConsole, guestImage } from '../guest/index.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';
import { within } from '../support/wait.ts';
import {
  ADMIN,
  addRigHost,
  addUser,
  type GqlResult,
  importImage,
  openConsole,
  settled,
  sshPublicKey,
  startTestKumo,
  subscriber,
  type TestKumo,
} from './support.ts';

const BUILD_MS = 600_000;
const BOOT_MS = 180_000;
const MiB = 1024n * 1024n;

let k: TestKumo;
let files: FileServer;
let admin: string;
let alice: string;
let bob: string;
const vms: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
const consoles: GuestConsole[] = [];
const clients: Client[] = [];

interface Result {
  vm: string;
  execution: { id: string; state: string; operation: { id: string } } | null;
  error: { code: string; message: string } | null;
}

interface Payload {
  results: Result[];
  userErrors: Array<{ code: string; field: string | null; message: string }>;
}

type OutputEvent =
  | { __typename: 'ExecLine'; seq: number; stream: 'STDOUT' | 'STDERR'; text: string }
  | {
      __typename: 'ExecStateChange';
      seq: number;
      state: string;
      exitCode: number | null;
      signal: number | null;
      error: string | null;
    }
  | { __typename: 'ExecGap'; seq: number; missed: number | null };

type AuditPage = { auditEvents: { edges: Array<{ node: { action: string; result: string } }> } };

const RESULT_FIELDS =
  'results { vm execution { id state operation { id } } error { code message } } userErrors { code field message }';

async function gql<T>(query: string, variables: Record<string, unknown>, token = alice) {
  const r: GqlResult<T> = await k.gql<T>(query, variables, token);
  if (!r.data || r.errors) throw new Error(JSON.stringify(r));
  return r.data;
}

// Runs vmExec or vmFilePut and returns its payload.
async function launch(
  mutation: 'vmExec' | 'vmFilePut',
  input: Record<string, unknown>,
  token: string,
): Promise<Payload> {
  const type = mutation === 'vmExec' ? 'VmExecInput' : 'VmFilePutInput';
  const data = await gql<Record<string, Payload>>(
    `mutation($input: ${type}!) { ${mutation}(input: $input) { ${RESULT_FIELDS} } }`,
    { input },
    token,
  );
  return data[mutation] as Payload;
}

const exec = (input: Record<string, unknown>, token = alice) => launch('vmExec', input, token);
const put = (input: Record<string, unknown>, token = alice) => launch('vmFilePut', input, token);

/** output follows an execution's output to its end, over graphql-ws, as `token`'s user. */
async function output(executionId: string, token = alice, after = 0): Promise<OutputEvent[]> {
  const client = subscriber(k, token);
  clients.push(client);
  const events: OutputEvent[] = [];
  const query = `subscription($e: ID!, $after: Int) { execOutput(execution: $e, after: $after) {
    __typename
    ... on ExecLine { seq stream text }
    ... on ExecStateChange { seq state exitCode signal error }
    ... on ExecGap { seq missed } } }`;
  try {
    for await (const r of client.iterate<{ execOutput: OutputEvent }>({
      query,
      variables: { e: executionId, after },
    })) {
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      if (r.data) events.push(r.data.execOutput);
    }
  } catch (err) {
    // graphql-ws rejects with the GraphQL errors themselves.
    throw err instanceof Error ? err : new Error(JSON.stringify(err));
  }
  return events;
}

const lines = (events: OutputEvent[], stream: 'STDOUT' | 'STDERR') =>
  events.flatMap((e) => (e.__typename === 'ExecLine' && e.stream === stream ? [e.text] : []));
const states = (events: OutputEvent[]) =>
  events.flatMap((e) => (e.__typename === 'ExecStateChange' ? [e.state] : []));
const last = (events: OutputEvent[]) => events[events.length - 1];

function executionOf(r: Result | undefined): { id: string; operation: { id: string } } {
  if (!r?.execution) throw new Error(`no execution: ${JSON.stringify(r)}`);
  return r.execution;
}

/** run runs a command in one VM and returns its output to the end. */
async function run(vm: string, command: string, args: string[] = []): Promise<OutputEvent[]> {
  const out = await exec({ vms: [vm], command, args, timeoutSeconds: 60 });
  return output(executionOf(out.results[0]).id);
}

async function createVm(name: string, host: string, hostId: string): Promise<string> {
  const r = await gql<{ vmCreate: { vm: { id: string }; operation: { id: string } } }>(
    `mutation($input: VmCreateInput!) { vmCreate(input: $input) { vm { id } operation { id } userErrors { message } } }`,
    {
      input: {
        image: imageId,
        name,
        vcpus: 1,
        memoryBytes: String(128n * MiB),
        host: hostId,
        // A seed, so the guest takes the VM's name as its hostname.
        sshKeys: [sshPublicKey(`${name}@kumo`)],
        start: false,
      },
    },
    admin,
  );
  expect((await settled(k, r.vmCreate.operation.id, admin)).status, host).toBe('SUCCEEDED');
  await share(r.vmCreate.vm.id, 'alice', 'OWNER');
  return r.vmCreate.vm.id;
}

async function share(id: string, who: string, role: string): Promise<void> {
  await gql(
    'mutation($input: VmShareInput!) { vmShare(input: $input) { userErrors { message } } }',
    { input: { id, email: `${who}@kumo.test`, role } },
    admin,
  );
}

/** boot starts a VM and waits for its guest agent, watching the console from the start. */
async function boot(id: string): Promise<GuestConsole> {
  await gql('mutation($id: ID!) { vmStart(input: {id: $id}) { vm { state } } }', { id });
  const con = new GuestConsole(createWebSocketStream(await openConsole(k, id, alice)));
  consoles.push(con);
  await con.waitFor('KUMO-GUEST READY', BOOT_MS);
  return con;
}

let imageId: string;
let consoleC: GuestConsole;

beforeAll(
  async () => {
    const image = await within(guestImage(), BUILD_MS, 'building the guest image');
    files = await serveFiles();
    files.route('/guest.img', bytes(await readFile(image.path)));
    k = await startTestKumo(
      {},
      {
        overrides: {
          images: { allowedAddresses: ['127.0.0.1/32'] },
          vms: { network: 'kumo-guests' },
          exec: { filePaths: ['/tmp/kumo-test', '/opt'] },
        },
      },
    );
    admin = await k.signIn(ADMIN.email, ADMIN.password);
    alice = await addUser(k, admin, 'alice');
    bob = await addUser(k, admin, 'bob');
    for (const h of ['hv1', 'hv2'] as const) {
      const conn = await openTls(rigHost(h));
      await ensureGuestNetwork(conn);
      await conn.close();
    }
    const hv1 = await addRigHost(k, admin, 'hv1');
    const hv2 = await addRigHost(k, admin, 'hv2', { ssh: true });
    imageId = await importImage(k, admin, `${files.base}/guest.img`, 'guest');
    await gql(
      'mutation($id: ID!) { imageUpdate(input: {id: $id, public: true}) { userErrors { message } } }',
      { id: imageId },
      admin,
    );
    vms.a = await createVm('exec-a', 'hv1', hv1);
    vms.b = await createVm('exec-b', 'hv1', hv1);
    vms.c = await createVm('exec-c', 'hv2', hv2);
    const [, , c] = await Promise.all([boot(vms.a), boot(vms.b), boot(vms.c)]);
    consoleC = c as GuestConsole;
  },
  BUILD_MS + 3 * BOOT_MS,
);

afterAll(async () => {
  for (const c of clients) await c.dispose();
  for (const c of consoles) c.close();
  for (const id of Object.values(vms).filter(Boolean))
    await gql(
      'mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { message } } }',
      { id },
      admin,
    ).catch(() => undefined);
  await k?.stop();
  await files?.close();
});

const SCRIPT = `#!/bin/sh
for i in 1 2 3; do echo "out $i"; echo "err $i" >&2; sleep 1; done
echo "args: $1|$2"
echo "GREETING=$GREETING"
read -r line
echo "stdin: $line"
case "$(hostname)" in exec-b) exit 3 ;; exec-c) exit 7 ;; esac
`;

describe('vmFilePut with a command, in three VMs on two hosts', () => {
  let results: Result[];
  let outputs: OutputEvent[][];

  it('delivers the script, runs it everywhere at once and streams each output in order', async () => {
    const out = await put({
      vms: [vms.a, vms.b, vms.c],
      path: '/tmp/kumo-test/deploy/run.sh',
      content: SCRIPT,
      mode: '0750',
      run: {
        command: '/tmp/kumo-test/deploy/run.sh',
        args: ['x', 'y z'],
        env: ['GREETING=hello there'],
        input: 'from stdin\n',
        timeoutSeconds: 120,
      },
    });
    expect(out.userErrors).toEqual([]);
    results = out.results;
    expect(results.map((r) => r.vm)).toEqual([vms.a, vms.b, vms.c]);
    expect(results.map((r) => r.error)).toEqual([null, null, null]);
    outputs = await Promise.all(results.map((r) => output(executionOf(r).id)));
    for (const events of outputs) {
      expect(lines(events, 'STDOUT')).toEqual([
        'out 1',
        'out 2',
        'out 3',
        'args: x|y z',
        'GREETING=hello there',
        'stdin: from stdin',
      ]);
      expect(lines(events, 'STDERR')).toEqual(['err 1', 'err 2', 'err 3']);
      // Interleaved as written: stderr's first line comes well before stdout's third.
      const seqOf = (text: string) =>
        events.find((e) => e.__typename === 'ExecLine' && e.text === text)?.seq ?? -1;
      expect(seqOf('err 1')).toBeLessThan(seqOf('out 3'));
      expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((x, y) => x - y));
      expect(states(events)).toEqual(['QUEUED', 'DELIVERING', 'RUNNING', 'FINISHED']);
    }
    expect(outputs.map((e) => last(e))).toMatchObject([
      { state: 'FINISHED', exitCode: 0, signal: null },
      { state: 'FINISHED', exitCode: 3, signal: null },
      { state: 'FINISHED', exitCode: 7, signal: null },
    ]);
  });

  it('records each execution, its operation (failed on a non-zero exit) and the audit trail', async () => {
    const ids = results.map((r) => executionOf(r).id);
    const data = await gql<{ nodes: Array<Record<string, unknown>> }>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Execution {
        vmName state exitCode command args envNames inputBytes user { email }
        file { path bytes mode sha256 } operation { kind status error } } } }`,
      { ids },
    );
    const sha256 = createHash('sha256').update(SCRIPT).digest('hex');
    expect(data.nodes).toEqual(
      ['exec-a', 'exec-b', 'exec-c'].map((vmName, i) => ({
        vmName,
        state: 'FINISHED',
        exitCode: [0, 3, 7][i],
        command: '/tmp/kumo-test/deploy/run.sh',
        args: ['x', 'y z'],
        envNames: ['GREETING'],
        inputBytes: 11,
        user: { email: 'alice@kumo.test' },
        file: {
          path: '/tmp/kumo-test/deploy/run.sh',
          bytes: String(SCRIPT.length),
          mode: '0750',
          sha256,
        },
        operation: {
          kind: 'vmFilePut',
          status: i === 0 ? 'SUCCEEDED' : 'FAILED',
          error: i === 0 ? null : `exited with status ${[0, 3, 7][i]}`,
        },
      })),
    );
    // Listed newest first, the VM's own when asked for by VM; not at all for another user.
    type Page = { executions: { edges: Array<{ node: { vmName: string } }> } };
    const listed = await gql<Page>(
      'query($vm: ID) { executions(first: 10, vm: $vm) { edges { node { vmName } } } }',
      { vm: vms.c },
    );
    expect(listed.executions.edges.map((e) => e.node.vmName)).toEqual(['exec-c']);
    const all = await gql<Page>('{ executions(first: 2) { edges { node { vmName } } } }', {});
    expect(all.executions.edges).toHaveLength(2);
    const others = await gql<Page>(
      '{ executions(first: 10) { edges { node { vmName } } } }',
      {},
      bob,
    );
    expect(others.executions.edges).toEqual([]);
    // The file is in place with its mode, and nothing else was left beside it or in /tmp.
    const check = await run(vms.b, '/bin/sh', [
      '-c',
      'stat -c %a /tmp/kumo-test/deploy/run.sh; ls -A /tmp/kumo-test/deploy; ls -A /tmp | grep -c kumo-exec',
    ]);
    // Only the two output files of this very command are in /tmp: earlier runs removed theirs.
    expect(lines(check, 'STDOUT')).toEqual(['750', 'run.sh', '2']);
    const audit = await gql<AuditPage>(
      '{ auditEvents(first: 50) { edges { node { action result } } } }',
      {},
      admin,
    );
    const actions = audit.auditEvents.edges.map((e) => `${e.node.action} ${e.node.result}`);
    expect(actions.filter((a) => a === 'vmFilePut OK')).toHaveLength(3);
    expect(actions.filter((a) => a.startsWith('vmExecEnd'))).toContain('vmExecEnd ERROR');
  });

  it('replays the output to a subscriber that comes back, from where it left off', async () => {
    const id = executionOf(results[1]).id;
    const again = await output(id, alice, 3);
    expect(again[0]?.seq).toBe(4);
    expect(again).toEqual(outputs[1]?.filter((e) => e.seq > 3));
    // Another user does not see it at all; an admin does.
    await expect(output(id, bob)).rejects.toThrow(/no execution/);
    expect(last(await output(id, admin))).toMatchObject({ state: 'FINISHED', exitCode: 3 });
  });
});

describe('vmFilePut', () => {
  it('delivers a binary file larger than one agent message, uploaded with the request', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 123);
    const form = new FormData();
    form.set(
      'operations',
      JSON.stringify({
        query: `mutation($input: VmFilePutInput!) { vmFilePut(input: $input) { ${RESULT_FIELDS} } }`,
        variables: { input: { vms: [vms.a, vms.c], path: '/opt/blob.bin', upload: null } },
      }),
    );
    form.set('map', JSON.stringify({ 0: ['variables.input.upload'] }));
    form.set('0', new Blob([new Uint8Array(body)]), 'blob.bin');
    const started = performance.now();
    const res = await fetch(k.url, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${alice}` },
    });
    const payload = ((await res.json()) as { data: { vmFilePut: Payload } }).data.vmFilePut;
    expect(payload.userErrors).toEqual([]);
    const ends = await Promise.all(
      payload.results.map(async (r) => last(await output(executionOf(r).id))),
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(`delivered ${body.length} bytes to 2 VMs (TCG) in ${seconds.toFixed(1)} s`);
    expect(ends).toMatchObject([
      { state: 'FINISHED', error: null },
      { state: 'FINISHED', error: null },
    ]);
    const sum = createHash('sha256').update(body).digest('hex');
    for (const vm of [vms.a, vms.c])
      expect(lines(await run(vm, 'sha256sum', ['/opt/blob.bin']), 'STDOUT')).toEqual([
        `${sum}  /opt/blob.bin`,
      ]);
  });

  it('refuses paths outside the allowed directories and touches no VM', async () => {
    for (const path of ['/etc/passwd', '/tmp/kumo-test/../../etc/passwd', 'relative'])
      expect(await put({ vms: [vms.a], path, content: 'x' }), path).toMatchObject({
        results: [],
        userErrors: [{ code: 'INVALID', field: 'input.path' }],
      });
  });
});

describe('vmExec', () => {
  it('kills a runaway command and everything it started when its time is up', async () => {
    const out = await exec({
      vms: [vms.a],
      command: '/bin/sh',
      args: ['-c', 'echo started; sleep 1001 & sleep 1002; echo never'],
      timeoutSeconds: 3,
    });
    const events = await output(executionOf(out.results[0]).id);
    expect(lines(events, 'STDOUT')).toEqual(['started']);
    expect(last(events)).toMatchObject({ state: 'TIMED_OUT', signal: 9, exitCode: null });
    const left = await run(vms.a, '/bin/sh', ['-c', 'ps | grep -c "[s]leep 100"']);
    expect(lines(left, 'STDOUT')).toEqual(['0']);
  });

  it('kills a command whose operation is cancelled', async () => {
    const out = await exec({ vms: [vms.b], command: 'sleep', args: ['1003'] });
    const execution = executionOf(out.results[0]);
    const following = output(execution.id);
    const cancel = await gql<{ operationCancel: { operation: { status: string } } }>(
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { operation { status } userErrors { message } } }',
      { id: execution.operation.id },
    );
    expect(cancel.operationCancel.operation.status).toBe('CANCELLED');
    expect(last(await following)).toMatchObject({ state: 'CANCELLED', signal: 9 });
    const left = await run(vms.b, '/bin/sh', ['-c', 'ps | grep -c "[s]leep 1003"']);
    expect(lines(left, 'STDOUT')).toEqual(['0']);
  });

  it('decides rights per VM: refused where the user may not, run where they may', async () => {
    await share(vms.a, 'bob', 'OPERATOR');
    await share(vms.b, 'bob', 'VIEWER');
    const out = await exec({ vms: [vms.a, vms.b, vms.c], command: 'hostname' }, bob);
    expect(out.userErrors).toEqual([]);
    expect(out.results.map((r) => r.error?.code ?? null)).toEqual([null, 'REFUSED', 'NOT_FOUND']);
    expect(out.results[1]?.error?.message).toMatch(/OPERATOR/);
    expect(lines(await output(executionOf(out.results[0]).id, bob), 'STDOUT')).toEqual(['exec-a']);
    const audit = await gql<AuditPage>(
      '{ auditEvents(first: 10, action: "vmExec") { edges { node { action result } } } }',
      {},
      admin,
    );
    expect(
      audit.auditEvents.edges
        .slice(0, 3)
        .map((e) => e.node.result)
        .sort(),
    ).toEqual(['DENIED', 'DENIED', 'OK']);
  });

  it('fails alone in a VM whose guest agent is stopped; the others go on', async () => {
    const killed = await consoleC.run('kill $(pidof qemu-ga); echo killed', 30_000);
    expect(killed.output).toContain('killed');
    const out = await exec({ vms: [vms.a, vms.c], command: 'echo', args: ['still here'] });
    const [a, c] = await Promise.all(out.results.map((r) => output(executionOf(r).id)));
    expect(lines(a as OutputEvent[], 'STDOUT')).toEqual(['still here']);
    expect(last(a as OutputEvent[])).toMatchObject({ state: 'FINISHED', exitCode: 0 });
    expect(last(c as OutputEvent[])).toMatchObject({ state: 'FAILED' });
    const failed = last(c as OutputEvent[]) as { error: string };
    expect(failed.error).toMatch(/guest agent does not answer/);
  });
});

describe('a controller restart', () => {
  it('leaves a running command running, then follows it again, output and all', async () => {
    const out = await exec({
      vms: [vms.a],
      command: '/bin/sh',
      args: ['-c', 'echo before; sleep 4; echo after; exit 5'],
    });
    const execution = executionOf(out.results[0]);
    const client = subscriber(k, alice);
    clients.push(client);
    for await (const r of client.iterate<{ execOutput: OutputEvent }>({
      query:
        'subscription($e: ID!) { execOutput(execution: $e) { __typename ... on ExecLine { text } } }',
      variables: { e: execution.id },
    }))
      if ((r.data?.execOutput as { text?: string } | undefined)?.text === 'before') break;
    k = await k.restart();
    const events = await output(execution.id);
    expect(lines(events, 'STDOUT')).toEqual(['before', 'after']);
    expect(last(events)).toMatchObject({ state: 'FINISHED', exitCode: 5 });
    const op = await settled(k, execution.operation.id, alice);
    expect(op).toMatchObject({ status: 'FAILED', error: 'exited with status 5' });
  });
});
