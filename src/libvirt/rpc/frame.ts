import { LibvirtError } from '../errors.ts';
import { VIR_NET_MESSAGE_LEN_MAX, VIR_NET_MESSAGE_MAX } from '../generated/virnet-protocol.gen.ts';

export { MessageStatus, MessageType } from '../generated/virnet-protocol.gen.ts';

/** HEADER_SIZE is the length word plus the six-word header that start every frame. */
export const HEADER_SIZE = 28;
/** MAX_FRAME is the largest length word libvirt allows; the length word counts itself. */
export const MAX_FRAME = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_MAX;

/** Header is virNetMessageHeader. */
export interface Header {
  program: number;
  version: number;
  procedure: number;
  type: number;
  serial: number;
  status: number;
}

/** Frame is one decoded message: its header and its payload (a view, not a copy). */
export interface Frame {
  header: Header;
  payload: Buffer;
}

/** encodeHeader writes a frame's length word and header into the first 28 bytes of buf. */
export function encodeHeader(buf: Buffer, length: number, h: Header): void {
  buf.writeUInt32BE(length, 0);
  buf.writeUInt32BE(h.program, 4);
  buf.writeUInt32BE(h.version, 8);
  buf.writeInt32BE(h.procedure, 12);
  buf.writeInt32BE(h.type, 16);
  buf.writeUInt32BE(h.serial, 20);
  buf.writeInt32BE(h.status, 24);
}

/** frame builds a whole frame from a header and a raw payload. */
export function frame(h: Header, payload?: Uint8Array): Buffer {
  const len = HEADER_SIZE + (payload?.length ?? 0);
  const buf = Buffer.allocUnsafe(len);
  encodeHeader(buf, len, h);
  if (payload) buf.set(payload, HEADER_SIZE);
  return buf;
}

/**
 * FrameDecoder turns an arbitrarily split byte stream into frames. A length word outside
 * libvirt's limits is fatal: the stream cannot be resynchronised, so the caller must close.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** push adds bytes and returns every frame now complete. */
  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    while (this.buffered >= 4) {
      const head = this.peekLength();
      if (head < HEADER_SIZE || head > MAX_FRAME) {
        throw new LibvirtError('protocol', `invalid frame length ${head} from peer`);
      }
      if (this.buffered < head) break;
      frames.push(decodeFrame(this.take(head)));
    }
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    this.chunks = [Buffer.concat(this.chunks)];
    return (this.chunks[0] as Buffer).readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0] as Buffer;
        const use = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, use);
        filled += use;
        if (use === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(use);
      }
    }
    this.buffered -= n;
    return out;
  }
}

function decodeFrame(buf: Buffer): Frame {
  return {
    header: {
      program: buf.readUInt32BE(4),
      version: buf.readUInt32BE(8),
      procedure: buf.readInt32BE(12),
      type: buf.readInt32BE(16),
      serial: buf.readUInt32BE(20),
      status: buf.readInt32BE(24),
    },
    payload: buf.subarray(HEADER_SIZE),
  };
}
