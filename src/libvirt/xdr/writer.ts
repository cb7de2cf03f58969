import { XdrError } from './xdr-error.ts';

const ZERO_PAD = Buffer.alloc(4);

/**
 * XdrWriter encodes RFC 4506 XDR into one growable buffer. Generated encoders call it field by
 * field; the RPC layer writes the frame header into the same buffer so a call is one allocation.
 */
export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** length is the number of bytes written so far. */
  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // At least 64: a writer created with initialSize 0 would otherwise never grow.
    let size = Math.max(this.buf.length * 2, 64);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw new XdrError(`int out of range: ${v}`);
    }
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new XdrError(`unsigned int out of range: ${v}`);
    }
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  hyper(v: bigint): void {
    this.ensure(8);
    try {
      this.buf.writeBigInt64BE(v, this.pos);
    } catch {
      throw new XdrError(`hyper out of range: ${v}`);
    }
    this.pos += 8;
  }

  uhyper(v: bigint): void {
    this.ensure(8);
    try {
      this.buf.writeBigUInt64BE(v, this.pos);
    } catch {
      throw new XdrError(`unsigned hyper out of range: ${v}`);
    }
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v ? 1 : 0, this.pos);
    this.pos += 4;
  }

  float(v: number): void {
    this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** fixedOpaque writes exactly n bytes (opaque x[n]) plus padding. */
  fixedOpaque(v: Uint8Array, n: number): void {
    if (v.length !== n) throw new XdrError(`fixed opaque needs ${n} bytes, got ${v.length}`);
    this.bytes(v);
  }

  /** varOpaque writes opaque x<max>: a length word, the bytes, padding. */
  varOpaque(v: Uint8Array, max = 0xffffffff): void {
    if (v.length > max) throw new XdrError(`opaque of ${v.length} bytes exceeds its bound ${max}`);
    this.uint(v.length);
    this.bytes(v);
  }

  /** string writes string x<max> as UTF-8; max bounds the encoded byte length. */
  string(v: string, max = 0xffffffff): void {
    const len = Buffer.byteLength(v, 'utf8');
    if (len > max) throw new XdrError(`string of ${len} bytes exceeds its bound ${max}`);
    this.uint(len);
    this.ensure(len + 3);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
    this.pad(len);
  }

  /** count writes the element count of a variable array after checking its bound. */
  count(n: number, max = 0xffffffff): void {
    if (n > max) throw new XdrError(`array of ${n} elements exceeds its bound ${max}`);
    this.uint(n);
  }

  /** raw appends bytes with no length word and no padding (stream payloads). */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** setUint32At overwrites a word already written (the frame length, for one). */
  setUint32At(offset: number, v: number): void {
    if (offset + 4 > this.pos) throw new XdrError(`offset ${offset} is past the written data`);
    this.buf.writeUInt32BE(v, offset);
  }

  /** finish returns the written bytes; the writer must not be used afterwards. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private bytes(v: Uint8Array): void {
    this.ensure(v.length + 3);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    this.pad(v.length);
  }

  private pad(len: number): void {
    const p = (4 - (len % 4)) % 4;
    if (p === 0) return;
    ZERO_PAD.copy(this.buf, this.pos, 0, p);
    this.pos += p;
  }
}
