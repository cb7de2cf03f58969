import type { Duplex, Readable } from 'node:stream';
import { desEncryptBlock } from './des.ts';

// The opening of the RFB protocol (RFC 6143 §7.1-7.2), both ways: Kumo logs in to a VNC server
// with its password, then greets the browser as a server that needs no password, since the
// browser was let in by its ticket. Everything after the security handshake passes untouched.

const VERSION_3_8 = 'RFB 003.008\n';
const SECURITY_NONE = 1;
const SECURITY_VNC = 2;

/** RfbError says why an RFB opening failed; `refused` when the server turned the password down. */
export class RfbError extends Error {
  readonly refused: boolean;

  constructor(message: string, refused = false) {
    super(message);
    this.name = 'RfbError';
    this.refused = refused;
  }
}

/** readBytes reads exactly n bytes, leaving the rest in the stream for whoever reads next. */
export async function readBytes(s: Readable, n: number): Promise<Buffer> {
  // Whole chunks are taken and what is over is put back: read(n) of more than the stream holds
  // can wait forever once its buffer is full.
  const parts: Buffer[] = [];
  let have = 0;
  while (have < n) {
    const chunk = s.read() as Buffer | null;
    if (chunk !== null) {
      parts.push(chunk);
      have += chunk.length;
      continue;
    }
    if (s.readableEnded || s.destroyed) {
      if (have > 0) s.unshift(Buffer.concat(parts));
      throw new RfbError('the connection closed during the RFB opening');
    }
    await readable(s);
  }
  const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  if (all.length > n) s.unshift(all.subarray(n));
  return all.subarray(0, n);
}

// Waits for more to read, or the stream's end or failure.
function readable(s: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: Error) => {
      s.off('readable', onReadable);
      s.off('end', onEnd);
      s.off('close', onEnd);
      s.off('error', settle);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = () => settle();
    const onEnd = () => settle(new RfbError('the connection closed during the RFB opening'));
    s.on('readable', onReadable);
    s.on('end', onEnd);
    s.on('close', onEnd);
    s.on('error', settle);
  });
}

/**
 * vncAuthResponse answers a VNC authentication challenge: the 16 bytes DES-encrypted with the
 * password (its first 8 bytes, zero-padded) as key, each key byte's bits in reverse order, as
 * the original VNC implementation did.
 */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) key[i] = reverseBits(key[i] as number);
  return Buffer.concat([
    desEncryptBlock(key, challenge.subarray(0, 8)),
    desEncryptBlock(key, challenge.subarray(8, 16)),
  ]);
}

function reverseBits(b: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((b >> i) & 1) << (7 - i);
  return out;
}

/**
 * rfbLogin opens an RFB session on a server speaking 3.8 (QEMU does) up to the point where the
 * client sends ClientInit, using VNC authentication with `password` (or none, if that is all the
 * server offers). Unread bytes stay in the stream.
 */
export async function rfbLogin(server: Duplex, password: string): Promise<void> {
  const version = (await readBytes(server, 12)).toString('latin1');
  if (!/^RFB \d{3}\.\d{3}\n$/.test(version))
    throw new RfbError(`not an RFB server (it said ${JSON.stringify(version)})`);
  if (version < VERSION_3_8)
    throw new RfbError(`the server speaks RFB ${version.trim().slice(4)}; 3.8 is needed`);
  server.write(VERSION_3_8);
  const count = (await readBytes(server, 1))[0] as number;
  if (count === 0) throw new RfbError(`the server refused the session: ${await reason(server)}`);
  const offered = [...(await readBytes(server, count))];
  if (offered.includes(SECURITY_VNC)) {
    server.write(Buffer.from([SECURITY_VNC]));
    const challenge = await readBytes(server, 16);
    server.write(vncAuthResponse(password, challenge));
  } else if (offered.includes(SECURITY_NONE)) {
    server.write(Buffer.from([SECURITY_NONE]));
  } else {
    throw new RfbError(`the server offers no security type Kumo speaks (${offered.join(', ')})`);
  }
  if ((await readBytes(server, 4)).readUInt32BE(0) !== 0)
    throw new RfbError(`the server refused the password: ${await reason(server)}`, true);
}

async function reason(s: Readable): Promise<string> {
  const length = (await readBytes(s, 4)).readUInt32BE(0);
  return (await readBytes(s, Math.min(length, 4096))).toString('utf8');
}

/**
 * rfbGreet plays the server's part of the opening to a client that needs no password (RFB 3.3,
 * 3.7 or 3.8, as the client asks), up to where the client sends ClientInit.
 */
export async function rfbGreet(client: Duplex): Promise<void> {
  client.write(VERSION_3_8);
  const version = (await readBytes(client, 12)).toString('latin1');
  if (!/^RFB 003\.00[378]\n$/.test(version))
    throw new RfbError(`the client asked for ${JSON.stringify(version)}, not RFB 3.3, 3.7 or 3.8`);
  if (version.startsWith('RFB 003.003')) {
    // 3.3: the server names the security type, and None has no result message.
    const type = Buffer.alloc(4);
    type.writeUInt32BE(SECURITY_NONE);
    client.write(type);
    return;
  }
  client.write(Buffer.from([1, SECURITY_NONE]));
  const chosen = (await readBytes(client, 1))[0];
  if (chosen !== SECURITY_NONE) throw new RfbError(`the client chose security type ${chosen}`);
  // 3.7 sends no result for None; 3.8 does.
  if (version === VERSION_3_8) client.write(Buffer.alloc(4));
}
