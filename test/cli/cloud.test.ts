// The CLI driving a real cloud: hosts of the rig added over SSH (confirming the host key) and
// TLS, images imported with a progress bar and uploaded, a VM made from a real guest, run,
// watched, metered, snapshotted, cloned, saved, migrated and removed, its console attached
// and detached; each command one-shot, in --json, and in the REPL.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { dialTcp } from '../../src/libvirt/transport/tcp.ts';
import { ADMIN, addUser, listening, startTestKumo, type TestKumo } from '../api/support.ts';
import { guestDomainType, guestImage } from '../guest/index.ts';
import { bytes, type FileServer, serveFiles, slowly } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { rfbViewer } from '../support/rfb-client.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until, within } from '../support/wait.ts';
import { KUMO, kumo, type Ran, Screen, spawnKumo } from './support.ts';

const BUILD_MS = 600_000;

let k: TestKumo;
let files: FileServer;
let dir: string;
let env: Record<string, string>;
let image: { path: string; sha512: string; bytes: number };
const conns: LibvirtConnection[] = [];

// run runs one command as the admin and expects it to succeed.
async function ok(...args: string[]): Promise<Ran> {
  const r = await kumo(args, env);
  if (r.status !== 0) throw new Error(`kumo ${args.join(' ')}: ${r.status}\n${r.stderr}`);
  return r;
}

async function json<T>(...args: string[]): Promise<T> {
  return JSON.parse((await ok(...args, '--json')).stdout) as T;
}

beforeAll(async () => {
  const built = await within(guestImage(), BUILD_MS, 'building the guest image');
  image = { path: built.path, sha512: built.sha512, bytes: Number(built.bytes) };
  const body = await readFile(image.path);
  files = await serveFiles();
  files.route('/tiny.img', bytes(body));
  files.route('/slow.img', slowly(body));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', shutdownTimeoutSeconds: 120 },
        metering: { intervalSeconds: 2 },
      },
    },
  );
  for (const name of ['hv1', 'hv2'] as const) {
    const conn = await openTls(rigHost(name));
    conns.push(conn);
    await ensureGuestNetwork(conn);
  }
  const admin = await k.signIn(ADMIN.email, ADMIN.password);
  await addUser(k, admin, 'bob');
  dir = mkdtempSync(join(tmpdir(), 'kumo-cli-cloud-'));
  env = { KUMO_CONFIG_DIR: join(dir, 'config'), KUMO_SERVER: new URL(k.url).origin };
  await ok('login', ADMIN.email, ADMIN.password);
}, BUILD_MS + 60_000);

afterAll(async () => {
  // A test that failed half-way leaves its VMs: they go with the controller's help.
  if (k) {
    const admin = await k.signIn(ADMIN.email, ADMIN.password);
    const left = await k.gql<{ vms: { edges: Array<{ node: { id: string } }> } }>(
      'query { vms(first: 100) { edges { node { id } } } }',
      {},
      admin,
    );
    for (const { node } of left.data?.vms.edges ?? [])
      await k.gql(
        'mutation($id: ID!) { vmRemove(input: {id: $id}) { userErrors { message } } }',
        { id: node.id },
        admin,
      );
  }
  await k?.stop();
  await files?.close();
  for (const c of conns) await c.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface HostJson {
  id: string;
  name: string;
  state: string;
  facts: { cpus: number; memoryBytes: number } | null;
}

describe('hosts', () => {
  it('adds an SSH host once its key is confirmed at the prompt, and a TLS host from a directory', async () => {
    const hv2 = rigHost('hv2');
    const ssh = [
      'host',
      'add',
      'hv2',
      `qemu+ssh://${hv2.ip}/system`,
      '--ssh-key',
      rig().ssh.privateKey,
    ];
    const declined = await kumo(ssh, env, 'n\n');
    expect(declined.status).toBe(1);
    expect(declined.stderr).toContain(`offered the SSH host key ${hv2.sshHostKeyFingerprint}`);
    expect(declined.stderr).toMatch(/not confirmed; nothing was added/);
    expect((await ok('host', 'ls', '-q')).stdout).toBe('');

    const confirmed = await kumo(ssh, env, 'y\n');
    expect(confirmed.status).toBe(0);
    expect(confirmed.stdout).toMatch(/added host hv2 \([0-9a-f]{8}\), ONLINE/);

    const hv1 = rigHost('hv1');
    await ok('host', 'add', 'hv1', `qemu+tls://${hv1.ip}/system`, '--tls-dir', rig().pki.clientDir);
    // Where /dev/kvm cannot boot Linux (test/guest/README.md), the admin picks TCG.
    const tcg = guestDomainType() === 'qemu' && rig().domainType === 'kvm';
    for (const h of ['hv1', 'hv2'])
      await ok(
        'host',
        'set',
        h,
        '--cpu-overcommit',
        '8',
        ...(tcg ? ['--acceleration', 'TCG'] : []),
      );

    const hosts = await json<HostJson[]>('host', 'ls');
    expect(hosts.map((h) => [h.name, h.state]).sort()).toEqual([
      ['hv1', 'ONLINE'],
      ['hv2', 'ONLINE'],
    ]);
    expect(hosts[0]?.facts?.cpus).toBeGreaterThan(0);
    const shown = await ok('host', 'show', 'hv1');
    expect(shown.stdout).toMatch(/^URI: +qemu\+tls:/m);
    expect(shown.stdout).toMatch(/^Hypervisor: +QEMU [\d.]+, libvirt \d+\.\d+\.\d+/m);
    expect((await ok('host', 'ls', 'hv2', '-q')).stdout.trim().split('\n')).toHaveLength(1);
  });

  it('puts a host in maintenance and back, followed live, and refuses what does not exist', async () => {
    const subscribed = listening(k, 'hostStateChanged');
    const watching = kumo(['host', 'watch', 'hv2', '--count', '1', '--json'], env);
    await subscribed();
    expect((await ok('host', 'maintenance', 'hv2')).stdout).toMatch(/host hv2 is in maintenance/);
    const watched = await watching;
    expect(watched.status).toBe(0);
    expect(JSON.parse(watched.stdout)).toMatchObject({
      name: 'hv2',
      previous: 'ONLINE',
      state: 'MAINTENANCE',
    });
    expect((await json<HostJson>('host', 'show', 'hv2')).state).toBe('MAINTENANCE');
    expect((await ok('host', 'activate', 'hv2')).stdout).toMatch(/host hv2 left maintenance/);
    // The monitor says ONLINE once it has checked the host.
    await until(
      async () =>
        (await json<HostJson>('host', 'show', 'hv2')).state === 'ONLINE' ? true : undefined,
      30_000,
      'hv2 online again',
    );
    const missing = await kumo(['host', 'show', 'hv9'], env);
    expect(missing.status).toBe(5);
    expect(missing.stderr).toMatch(/no host hv9/);
    const bad = await kumo(
      ['host', 'add', 'x', 'qemu+tls://10.0.0.1/system', '--acceleration', 'fast'],
      env,
    );
    expect(bad.status).toBe(2);
  });
});

interface ImageJson {
  id: string;
  name: string;
  state: string;
  sizeBytes: string | null;
  public: boolean;
}

describe('images', { timeout: 120_000 }, () => {
  it('imports from a URL with a live progress bar', async () => {
    const screen = await Screen.open(
      dir,
      `${KUMO} image add ${files.base}/slow.img tiny a tiny linux --sha512 ${image.sha512}`,
      env,
    );
    try {
      const bar = await screen.shows(/importing tiny +\[#*-*\] +\d+% +[\d.]+ MiB of 32 MiB/);
      expect(bar).toMatch(/downloading/);
      await screen.shows(/MiB\/s/);
      await screen.shows(/^imported image tiny \([0-9a-f]{8}\)$/m, 60_000);
    } finally {
      await screen.close();
    }
    const tiny = await json<ImageJson>('image', 'show', 'tiny');
    expect(tiny).toMatchObject({ state: 'AVAILABLE', sizeBytes: String(image.bytes) });
  });

  it('uploads a local file, and returns an operation at once with --no-wait', async () => {
    const up = await json<ImageJson>('image', 'upload', image.path, 'tiny-up', 'uploaded');
    expect(up).toMatchObject({
      name: 'tiny-up',
      state: 'AVAILABLE',
      sizeBytes: String(image.bytes),
    });

    const started = await ok(
      'image',
      'add',
      `${files.base}/tiny.img`,
      'tiny-later',
      '--no-wait',
      '-q',
    );
    const opId = started.stdout.trim();
    expect(Buffer.from(opId, 'base64').toString()).toMatch(/^Operation:/);
    expect((await ok('operation', 'watch', opId)).stdout).toMatch(
      /imageImport [0-9a-f]{8} succeeded/,
    );
    const ops = await json<Array<{ id: string; kind: string; status: string }>>('operation', 'ls');
    expect(ops.find((o) => o.id === opId)).toMatchObject({
      kind: 'imageImport',
      status: 'SUCCEEDED',
    });
    expect((await ok('image', 'ls', 'tiny-', '-q')).stdout.trim().split('\n')).toHaveLength(2);
    await ok('image', 'rm', 'tiny-later');

    // A slow import cancelled half-way leaves no image behind.
    const slow = await ok('image', 'add', `${files.base}/slow.img`, 'cancelled', '--no-wait', '-q');
    const cancelled = await ok('operation', 'cancel', slow.stdout.trim());
    expect(cancelled.stdout).toMatch(/^cancelled operation [0-9a-f]{8}$/m);
    expect((await ok('image', 'ls', 'cancelled', '-q')).stdout).toBe('');
    await ok('image', 'set', 'tiny', '--description', 'the tiny linux');
    expect(await json('image', 'show', 'tiny')).toMatchObject({ description: 'the tiny linux' });
  });

  it('shares, makes public, refuses a wrong checksum and removes', async () => {
    await ok('image', 'share', 'tiny-up', 'bob@kumo.test', 'operator');
    const owner = { email: ADMIN.email, name: 'Administrator', role: 'OWNER' };
    expect(await json('image', 'shares', 'tiny-up')).toEqual([
      owner,
      { email: 'bob@kumo.test', name: 'bob@kumo.test', role: 'OPERATOR' },
    ]);
    await ok('image', 'unshare', 'tiny-up', 'bob@kumo.test');
    expect(await json('image', 'shares', 'tiny-up')).toEqual([owner]);
    await ok('image', 'public', 'tiny-up');
    expect((await json<ImageJson>('image', 'show', 'tiny-up')).public).toBe(true);

    const wrong = await kumo(
      ['image', 'add', `${files.base}/tiny.img`, 'bad', '--sha512', 'ab'.repeat(64)],
      env,
    );
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/importing bad failed: .*SHA-512/i);
    expect((await ok('image', 'ls', 'bad', '-q')).stdout).toBe('');

    const role = await kumo(['image', 'share', 'tiny-up', 'bob@kumo.test', 'king'], env);
    expect(role.status).toBe(2);
    await ok('image', 'rm', 'tiny-up');
    expect((await kumo(['image', 'show', 'tiny-up'], env)).status).toBe(5);
  });
});

interface VmJson {
  id: string;
  name: string;
  state: string;
  vcpus: number;
  memoryBytes: string;
  host: { name: string } | null;
}

describe('a VM', { timeout: 300_000 }, () => {
  it('is created from an image, listed, and followed as it changes state', async () => {
    const made = await ok('vm', 'add', 'tiny', '128M', '--name', 'web', '--host', 'hv1');
    expect(made.stdout).toMatch(/created VM web \([0-9a-f]{8}\) on hv1: RUNNING/);
    const vms = await json<VmJson[]>('vm', 'ls');
    expect(vms).toEqual([
      expect.objectContaining({ name: 'web', state: 'RUNNING', memoryBytes: String(128 << 20) }),
    ]);

    const subscribed = listening(k, 'vmStateChanged');
    const watching = kumo(['vm', 'watch', 'web', '--count', '2', '--json'], env);
    await subscribed();
    await ok('vm', 'suspend', 'web');
    await ok('vm', 'resume', 'web');
    const watched = await watching;
    expect(watched.status).toBe(0);
    const events = watched.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => [e.previous, e.state])).toEqual([
      ['RUNNING', 'PAUSED'],
      ['PAUSED', 'RUNNING'],
    ]);
    expect(events[0]).toMatchObject({ vmName: 'web' });
  });

  it('shows live metrics of VMs and hosts', async () => {
    const hosts = (await ok('host', 'top', '--count', '2', '--interval', '1')).stdout.split('\n');
    expect(hosts[0]).toMatch(/^Time +Host +CPU +Memory used$/);
    expect(hosts[1]).toMatch(/^\d\d:\d\d:\d\d +hv[12] +[\d.]+% +[\d.]+ \w+ of [\d.]+ GiB$/);
    const top = await ok('vm', 'top', 'web', '--count', '2');
    const lines = top.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Time +CPU +Memory +Disk read +Disk write +Net in +Net out$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d +[\d.]+% +[\d.]+ MiB +[\d.]+ \w*B\/s/);
    const sample = JSON.parse((await ok('vm', 'top', 'web', '--count', '1', '--json')).stdout);
    expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
  });

  it('attaches this terminal to its serial console and detaches with Ctrl-]', async () => {
    const screen = await Screen.open(dir, `${KUMO} vm console web`, env);
    try {
      await screen.shows(/Connected to the console of web\. Detach with Ctrl-\]\./);
      // The guest may still be booting: Enter until its shell answers with a prompt.
      await until(
        async () => {
          await screen.type('', 'Enter');
          return (await screen.shows(/:.*#\s*$/m, 3000).catch(() => undefined)) ? true : undefined;
        },
        120_000,
        'a shell prompt on the console',
      );
      await screen.type('echo cli-$((6*7))', 'Enter');
      await screen.shows(/^cli-42/m);
      await screen.type('', 'C-]');
      await screen.shows(/^detached$/m);
    } finally {
      await screen.close();
    }
  });

  it('serves its graphical console on a local port for VNC viewers, each with its own ticket, until Ctrl-C', async () => {
    const child = spawnKumo(['vm', 'display', 'web', '--listen', '127.0.0.1:0'], env);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const at = await until(
        async () => /Serving the display of web at 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1],
        20_000,
        `the display served; stderr: ${stderr}`,
      );
      // Two viewers, one after the other: the guest’s screen for each, on a ticket of its own.
      for (let i = 0; i < 2; i++) {
        const socket = await dialTcp('127.0.0.1', Number(at), 5000);
        try {
          const { init, rects } = await within(rfbViewer(socket), 20_000, 'the display');
          expect(init.name).toMatch(/^QEMU \(kumo-[0-9a-f-]+\)$/);
          expect(rects).toBeGreaterThan(0);
        } finally {
          socket.destroy();
        }
      }
      child.kill('SIGINT');
      expect(await within(exited, 10_000, 'the CLI to stop')).toBe(0);
      expect(stderr).toMatch(/^stopped$/m);
    } finally {
      child.kill();
    }
    const bad = await kumo(['vm', 'display', 'web', '--listen', 'nowhere'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--listen takes address:port/);
  });

  it('runs commands and delivers files through its guest agent, output streamed as it comes', async () => {
    const script = join(dir, 'hello.sh');
    writeFileSync(script, '#!/bin/sh\necho "hello from $1"\necho oops >&2\nexit 4\n');
    const cp = await kumo(
      [
        'vm',
        'cp',
        script,
        'web:/tmp/deploy/hello.sh',
        '--mode',
        '0755',
        '--',
        '/tmp/deploy/hello.sh',
        'there',
      ],
      env,
    );
    expect(cp.stdout).toBe('hello from there\n');
    expect(cp.stderr).toContain('oops\n');
    expect(cp.stderr).toMatch(/^web: FINISHED exited with status 4$/m);
    expect(cp.stderr).toMatch(/1 of 1 VM did not succeed/);
    expect(cp.status).toBe(1);
    const ls = await ok(
      'vm',
      'exec',
      'web',
      '--env',
      'GREETING=hi',
      '--',
      'sh',
      '-c',
      'echo $GREETING; stat -c %a /tmp/deploy/hello.sh',
    );
    expect(ls.stdout).toBe('hi\n755\n');
    const events = (await ok('vm', 'exec', 'web', '--json', '--', 'echo', 'x')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.__typename === 'ExecLine')).toEqual([
      expect.objectContaining({ vm: 'web', stream: 'STDOUT', text: 'x' }),
    ]);
    expect(events.at(-1)).toMatchObject({ state: 'FINISHED', exitCode: 0 });
    const timedOut = await kumo(
      ['vm', 'exec', 'web', '--timeout', '2s', '--', 'sleep', '600'],
      env,
    );
    expect(timedOut.status).toBe(1);
    expect(timedOut.stderr).toMatch(/^web: TIMED_OUT ran out of time and was killed$/m);
  });

  it('is snapshotted, resized, stopped, cloned and saved as an image', async () => {
    const snap = await json<{ name: string; withMemory: boolean }>(
      'vm',
      'snapshot',
      'create',
      'web',
      's1',
    );
    expect(snap).toMatchObject({ name: 's1', withMemory: true });
    expect((await ok('vm', 'snapshot', 'ls', 'web')).stdout).toMatch(/^[0-9a-f]{8} +s1 +yes/m);
    expect((await ok('vm', 'snapshot', 'revert', 'web', 's1')).stdout).toMatch(
      /web is back at s1: RUNNING/,
    );
    await ok('vm', 'snapshot', 'rm', 'web', 's1');
    expect((await ok('vm', 'snapshot', 'ls', 'web')).stdout).toBe('');

    const resized = await json<VmJson & { appliedAt: string }>(
      'vm',
      'resize',
      'web',
      '--mem',
      '160M',
    );
    expect(resized).toMatchObject({ memoryBytes: String(160 << 20) });
    expect(['LIVE', 'NEXT_BOOT']).toContain(resized.appliedAt);

    expect((await ok('vm', 'stop', 'web', '--timeout', '60')).stdout).toMatch(
      /stopped web: STOPPED/,
    );
    expect((await ok('vm', 'clone', 'web', 'web-copy')).stdout).toMatch(/cloned web into web-copy/);
    await ok('vm', 'rm', 'web-copy');
    const saved = await ok('vm', 'save', 'web', 'web-image', 'saved', 'from', 'web');
    expect(saved.stdout).toMatch(/saved web as image web-image/);
    expect(await json<ImageJson>('image', 'show', 'web-image')).toMatchObject({
      state: 'AVAILABLE',
    });
    await ok('image', 'rm', 'web-image');
  });

  it('migrates live to another host, is shared, and is removed', async () => {
    expect((await ok('vm', 'start', 'web')).stdout).toMatch(/started web: RUNNING/);
    expect((await ok('vm', 'reboot', 'web')).stdout).toMatch(/rebooted web: RUNNING/);
    const busy = await kumo(['host', 'rm', 'hv1'], env);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(/VMs live on hv1/);
    // Capped at 8 MiB/s, the copy takes long enough to be watched.
    const screen = await Screen.open(dir, `${KUMO} vm migrate web --to hv2 --bandwidth 8`, env);
    try {
      await screen.shows(
        /migrating web +\[#*-*\] +\d+% +[\d.]+ \w*B of [\d.]+ MiB .*copying (disk|memory)/,
        60_000,
      );
      await screen.shows(/^web runs on hv2$/m, 120_000);
    } finally {
      await screen.close();
    }
    expect((await json<VmJson>('vm', 'show', 'web')).host?.name).toBe('hv2');

    await ok('vm', 'share', 'web', 'bob@kumo.test', 'VIEWER');
    expect((await ok('vm', 'shares', 'web')).stdout).toMatch(
      /^bob@kumo\.test +bob@kumo\.test +VIEWER$/m,
    );
    await ok('vm', 'unshare', 'web', 'bob@kumo.test');

    expect((await kumo(['vm', 'add', 'tiny', 'lots'], env)).status).toBe(2);
    const huge = await kumo(['vm', 'add', 'tiny', '64T', '--name', 'huge'], env);
    expect(huge.status).toBe(1);
    expect(huge.stderr).toMatch(/^error: /);
    await ok('vm', 'poweroff', 'web');
    await ok('vm', 'rm', 'web');
    expect((await kumo(['vm', 'show', 'web'], env)).status).toBe(5);
    expect((await ok('vm', 'ls', '-q')).stdout).toBe('');
    expect((await ok('host', 'rm', 'hv1')).stdout).toMatch(/removed host hv1/);
    expect((await ok('host', 'ls', '-q')).stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('the REPL', { timeout: 120_000 }, () => {
  it('runs the commands of every noun, completes names, stops a watch at Ctrl-C and goes on', async () => {
    await ok('vm', 'add', 'tiny', '64M', '--name', 'repl-vm', '--no-start');
    const screen = await Screen.open(dir, KUMO, env);
    try {
      await screen.shows(/kumo> $/m);
      await screen.type('vm show repl', 'Tab');
      await screen.shows(/kumo> vm show repl-vm$/m);
      await screen.type('', 'Enter');
      await screen.shows(/^State: +STOPPED$/m);
      const subscribed = listening(k, 'vmStateChanged');
      await screen.type('vm watch repl-vm', 'Enter');
      await subscribed();
      await screen.type('', 'C-c');
      await screen.shows(/kumo> vm watch repl-vm\n(.*\n)*?kumo> *$/m);
      // One command of each noun, as in one-shot use.
      for (const [line, shown] of [
        ['vm set repl-vm --description from-the-repl', /updated VM repl-vm/],
        ['host ls hv2', /^[0-9a-f]{8} +hv2 +ONLINE/m],
        ['image ls tiny', /^[0-9a-f]{8} +tiny +AVAILABLE/m],
        ['vm snapshot ls repl-vm', /kumo> vm snapshot ls repl-vm\nkumo>/],
        ['operation ls', /^[0-9a-f]{8} +vmCreate +SUCCEEDED/m],
        ['quota show', /^vms +/m],
        ['audit ls --action vmUpdate', /vmUpdate +OK/],
        ['user ls bob', /^[0-9a-f]{8} +bob@kumo\.test/m],
        ['whoami', /^User: +admin@kumo\.test$/m],
      ] as const) {
        await screen.type(line, 'Enter');
        await screen.shows(shown);
      }
      await screen.type('vm rm repl-vm', 'Enter');
      await screen.shows(/removed VM repl-vm/);
      await screen.type('exit', 'Enter');
    } finally {
      await screen.close();
    }
    expect(readFileSync(join(dir, 'config', 'history'), 'utf8')).toContain('vm watch repl-vm\n');
  });
});
