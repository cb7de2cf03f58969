// bench/display: a VM's graphical console through Kumo (vmDisplayOpen, the /display WebSocket,
// the controller's login and relay) against the same display reached directly (the port on
// the host over TCP, logged in with the same one-time password scheme, as a client on the
// controller's machine would). One VM without an OS (SeaBIOS's screen, 720x400 at 32 bits) on a
// rig host over TLS. Measured, rounds alternating which side goes first: opening (asking until
// ServerInit), and BENCH_FRAMES full framebuffer updates asked one after another (raw
// encoding, 1.1 MB each), their rate and the controller's CPU. Nothing is asserted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { loginDisplay } from '../../src/services/vms/vm-display.ts';
import { readBytes, rfbLogin } from '../../src/vnc/rfb.ts';
import { rawId } from '../../test/api/support.ts';
import { rigDown, rigUpDetailed } from '../../test/rig/rig.ts';
import { bytes, serveFiles } from '../../test/support/file-server.ts';
import { ensureGuestNetwork } from '../../test/support/guest-network.ts';
import {
  benchAddRigHost,
  benchCreateVm,
  benchGql,
  benchImportImage,
  type ControllerProcess,
  cpuSecondsOf,
  removeAllVms,
  startRigController,
} from '../controller-process.ts';

const FRAMES = Number(process.env.BENCH_FRAMES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

const { rig, reused: rigReused } = await rigUpDetailed(1);
const host = rig.hosts[0] as (typeof rig.hosts)[number];
const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-display-'));
const files = await serveFiles();
files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
let controller = null as ControllerProcess | null;
let adminToken = '';
let conn = null as LibvirtConnection | null;

/** Screen is a display opened up to ServerInit: its stream and framebuffer size. */
interface Screen {
  readonly rfb: Duplex;
  readonly width: number;
  readonly height: number;
  close(): void;
}

// A viewer's side once past the security handshake: ClientInit (shared), then ServerInit.
async function init(rfb: Duplex, close: () => void): Promise<Screen> {
  rfb.write(Buffer.from([1]));
  const head = await readBytes(rfb, 24);
  await readBytes(rfb, head.readUInt32BE(20));
  return { rfb, width: head.readUInt16BE(0), height: head.readUInt16BE(2), close };
}

// Direct: the display's port on the host, logged in as the controller logs in.
async function openDirect(c: LibvirtConnection, vmId: string): Promise<Screen> {
  const dom = await c.domains.lookupByName(`kumo-${vmId}`);
  const vnc = await loginDisplay(c, dom);
  return init(vnc, () => vnc.destroy());
}

// Through Kumo: a ticket, the display socket, and RFB that asks no password.
async function openKumo(url: string, token: string, vmGid: string): Promise<Screen> {
  const r = await benchGql<{ vmDisplayOpen: { console: { path: string } } }>(
    url,
    'mutation($id: ID!) { vmDisplayOpen(input: {id: $id}) { console { path } } }',
    { id: vmGid },
    token,
  );
  const target = new URL(r.vmDisplayOpen.console.path, url);
  target.protocol = 'ws:';
  const ws = new WebSocket(target);
  const rfb = createWebSocketStream(ws);
  // The controller offers only None: the login takes it, with no password.
  await rfbLogin(rfb, '');
  return init(rfb, () => ws.close());
}

// One full (non-incremental) update, read to its last byte: raw rectangles of 4 bytes a pixel.
async function fullFrame(s: Screen): Promise<number> {
  const request = Buffer.alloc(10);
  request.writeUInt8(3, 0);
  request.writeUInt16BE(s.width, 6);
  request.writeUInt16BE(s.height, 8);
  s.rfb.write(request);
  const head = await readBytes(s.rfb, 4);
  let read = 4;
  for (let i = head.readUInt16BE(2); i > 0; i--) {
    const rect = await readBytes(s.rfb, 12);
    const encoding = rect.readInt32BE(8);
    if (encoding !== 0) throw new Error(`rectangle in encoding ${encoding}, not raw`);
    const size = rect.readUInt16BE(4) * rect.readUInt16BE(6) * 4;
    await readBytes(s.rfb, size);
    read += 12 + size;
  }
  return read;
}

async function run(): Promise<void> {
  const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  console.log(
    `display: ${FRAMES} full frames, ${ROUNDS} rounds, a VM on ${host.name} over TLS; Kumo ${rev}, node ${process.version}, ${execFileSync('nproc').toString().trim()} cores`,
  );
  const { controller: c, admin } = await startRigController(dataDir);
  controller = c;
  adminToken = admin;
  conn = await LibvirtConnection.open(host.tlsUri);
  await ensureGuestNetwork(conn);
  const hostId = await benchAddRigHost(c.url, admin, host, rig.pki.clientDir);
  const imageId = await benchImportImage(c.url, admin, `${files.base}/disk.raw`, 'blank');
  const vmGid = await benchCreateVm(c.url, admin, {
    image: imageId,
    name: 'shown',
    memoryBytes: 64 * 2 ** 20,
    host: hostId,
  });
  const c0 = conn;
  const sides = {
    direct: () => openDirect(c0, rawId(vmGid)),
    Kumo: () => openKumo(c.url, admin, vmGid),
  };
  const opens: Record<string, number[]> = { direct: [], Kumo: [] };
  const rates: Record<string, number[]> = { direct: [], Kumo: [] };
  let kumoCpu = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['direct', 'Kumo'] as const) : (['Kumo', 'direct'] as const);
    for (const side of order) {
      const cpu0 = cpuSecondsOf(c.pid);
      const t0 = performance.now();
      const screen = await sides[side]();
      const opened = performance.now() - t0;
      let moved = 0;
      const t1 = performance.now();
      for (let i = 0; i < FRAMES; i++) moved += await fullFrame(screen);
      const s = (performance.now() - t1) / 1000;
      screen.close();
      if (side === 'Kumo') kumoCpu += cpuSecondsOf(c.pid) - cpu0;
      opens[side]?.push(opened);
      rates[side]?.push(FRAMES / s);
      console.log(
        `round ${round + 1}, ${side}: opened in ${opened.toFixed(0)} ms; ${screen.width}x${screen.height}, ${(FRAMES / s).toFixed(0)} frames/s, ${(moved / s / 2 ** 20).toFixed(0)} MiB/s`,
      );
    }
  }
  const median = (xs: number[] | undefined) => {
    const sorted = [...(xs ?? [])].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  };
  const [od, ok] = [median(opens.direct), median(opens.Kumo)];
  const [rd, rk] = [median(rates.direct), median(rates.Kumo)];
  console.log(
    `medians: opening direct ${od.toFixed(0)} ms, Kumo ${ok.toFixed(0)} ms (Kumo/direct ${(ok / od).toFixed(2)}x); frames/s direct ${rd.toFixed(0)}, Kumo ${rk.toFixed(0)} (Kumo/direct ${(rk / rd).toFixed(2)}x); the controller used ${((kumoCpu * 1000) / (FRAMES * ROUNDS)).toFixed(2)} ms of CPU a frame`,
  );
}

try {
  await run();
} finally {
  if (controller && adminToken)
    await removeAllVms(controller.url, adminToken).catch((err: unknown) =>
      console.log(`removing Kumo's VMs: ${String(err)}`),
    );
  await controller?.stop();
  await conn?.close();
  await files.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (!rigReused && process.env.BENCH_KEEP_RIG !== '1')
    await rigDown().catch((err: unknown) => console.log(`the rig stays up: ${String(err)}`));
}
