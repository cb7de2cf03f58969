import { XdrError } from './xdr-error.ts';

/**
 * XdrReader decodes RFC 4506 XDR from one buffer. Every read checks the bytes left first, and
 * every length or count is checked against its declared bound and against the bytes left
 * before anything is allocated, so hostile input costs at most the size of the input.
 */
export class XdrReader {
  private readonly buf: Buffer;
  private pos: number;
  private readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    if (
      !(
        Number.isInteger(start) &&
        Number.isInteger(end) &&
        0 <= start &&
        start <= end &&
        end <= buf.length
      )
    ) {
      throw new XdrError(`bad reader range ${start}..${end} of a ${buf.length}-byte buffer`);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** remaining is the number of bytes not yet read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new XdrError(`truncated ${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  hyper(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  uhyper(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const v = this.uint();
    if (v > 1) throw new XdrError(`bool must be 0 or 1, got ${v}`);
    return v === 1;
  }

  float(): number {
    this.need(4, 'float');
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** fixedOpaque reads opaque x[n]; the result is a copy, safe to keep. */
  fixedOpaque(n: number): Buffer {
    return this.bytes(n, 'fixed opaque');
  }

  /** varOpaque reads opaque x<max>; the result is a copy, safe to keep. */
  varOpaque(max = 0xffffffff): Buffer {
    const len = this.length(max, 'opaque');
    return this.bytes(len, 'opaque');
  }

  string(max = 0xffffffff): string {
    const len = this.length(max, 'string');
    this.need(padded(len), 'string');
    const v = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += padded(len);
    return v;
  }

  /**
   * count reads the element count of a variable array. Every XDR element takes at least
   * 4 bytes, so a count larger than a quarter of the bytes left cannot be genuine.
   */
  count(max = 0xffffffff): number {
    const n = this.uint();
    if (n > max) throw new XdrError(`array of ${n} elements exceeds its bound ${max}`);
    if (n > this.remaining / 4) {
      throw new XdrError(`array of ${n} elements cannot fit in ${this.remaining} bytes`);
    }
    return n;
  }

  /** optional reads the presence word of an optional (T *x) value. */
  optional(): boolean {
    const v = this.uint();
    if (v > 1) throw new XdrError(`optional presence must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** rest returns the bytes not yet read, without copying (stream payloads). */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** done checks that every byte was consumed: trailing bytes mean a type mismatch. */
  done(): void {
    if (this.pos !== this.end)
      throw new XdrError(`${this.end - this.pos} unexpected trailing bytes`);
  }

  private length(max: number, what: string): number {
    const len = this.uint();
    if (len > max) throw new XdrError(`${what} of ${len} bytes exceeds its bound ${max}`);
    if (len > this.remaining) {
      throw new XdrError(`truncated ${what}: ${len} bytes declared, ${this.remaining} left`);
    }
    return len;
  }

  private bytes(n: number, what: string): Buffer {
    this.need(padded(n), what);
    // Empty opaques (common: cookies, cpumaps) share one buffer; a zero-length one holds nothing.
    if (n === 0) return EMPTY;
    const v = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += padded(n);
    return v;
  }
}

const EMPTY = Buffer.alloc(0);

function padded(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}
