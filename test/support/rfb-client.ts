import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';
import { readBytes } from '../../src/vnc/rfb.ts';

/** ServerInit is what an RFB server says of its framebuffer once a client is in. */
export interface ServerInit {
  readonly width: number;
  readonly height: number;
  readonly bitsPerPixel: number;
  /** name is the desktop's name (QEMU's is the domain's name). */
  readonly name: string;
}

/** securityTypes reads an RFB 3.8 server's greeting and the security types it offers. */
export async function securityTypes(s: Duplex): Promise<number[]> {
  const version = (await readBytes(s, 12)).toString('latin1');
  if (version !== 'RFB 003.008\n') throw new Error(`server speaks ${JSON.stringify(version)}`);
  s.write('RFB 003.008\n');
  const count = (await readBytes(s, 1))[0] as number;
  return [...(await readBytes(s, count))];
}

/**
 * displaySocket opens a WebSocket to a display path on the controller at `base`, reading it as
 * a stream from the start (the server speaks first); rejects with the HTTP refusal.
 */
export function displaySocket(path: string, base: string): Promise<{ ws: WebSocket; rfb: Duplex }> {
  const url = new URL(path, base);
  url.protocol = 'ws:';
  const ws = new WebSocket(url);
  const rfb = createWebSocketStream(ws);
  rfb.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, rfb }));
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`display refused: ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
}

/**
 * rfbViewer does a client's part of RFB 3.8 on a display socket's stream as noVNC would: no password
 * (the controller logged in), a shared session, then one full framebuffer update asked for.
 * It returns the ServerInit and how many rectangles the first update carried, and reads on.
 */
export async function rfbViewer(s: Duplex): Promise<{ init: ServerInit; rects: number }> {
  const types = await securityTypes(s);
  if (types.join() !== '1') throw new Error(`offered security types ${types.join()}, not None`);
  s.write(Buffer.from([1]));
  if ((await readBytes(s, 4)).readUInt32BE(0) !== 0) throw new Error('security result not OK');
  s.write(Buffer.from([1]));
  const head = await readBytes(s, 24);
  const name = (await readBytes(s, head.readUInt32BE(20))).toString('utf8');
  const init = {
    width: head.readUInt16BE(0),
    height: head.readUInt16BE(2),
    bitsPerPixel: head[4] as number,
    name,
  };
  const request = Buffer.alloc(10);
  request.writeUInt8(3, 0);
  request.writeUInt16BE(init.width, 6);
  request.writeUInt16BE(init.height, 8);
  s.write(request);
  const update = await readBytes(s, 4);
  if (update[0] !== 0) throw new Error(`expected a FramebufferUpdate, got message ${update[0]}`);
  // What follows is read and dropped: a socket nobody reads would not see its close either.
  s.resume();
  return { init, rects: update.readUInt16BE(2) };
}
