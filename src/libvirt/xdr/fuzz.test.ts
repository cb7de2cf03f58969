import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forceGc } from '../../../test/support/gc.ts';
import * as qemu from '../generated/qemu-protocol.gen.ts';
import * as remote from '../generated/remote-protocol.gen.ts';
import * as virnet from '../generated/virnet-protocol.gen.ts';
import { XdrError, XdrReader, XdrWriter } from './index.ts';

type Decode = (r: XdrReader) => unknown;
type Encode = (w: XdrWriter, v: unknown) => void;

interface Codec {
  readonly name: string;
  readonly decode: Decode;
  readonly encode: Encode;
}

/** codecs lists every decodeX export of a generated module with its encodeX. */
function codecs(mod: Record<string, unknown>): Codec[] {
  const out: Codec[] = [];
  for (const [name, decode] of Object.entries(mod)) {
    if (!/^decode[A-Z]/.test(name) || typeof decode !== 'function' || decode.length !== 1) continue;
    const encode = mod[`encode${name.slice('decode'.length)}`];
    if (typeof encode !== 'function') throw new Error(`${name} has no encoder`);
    out.push({ name, decode: decode as Decode, encode: encode as Encode });
  }
  return out;
}

const REMOTE = codecs(remote);
const ALL = [...REMOTE, ...codecs(qemu), ...codecs(virnet)];

/** decodeOrXdrError decodes, letting only XdrError through as "rejected" (null). */
function decodeOrXdrError(c: Codec, bytes: Buffer): { value: unknown; used: number } | null {
  const r = new XdrReader(bytes);
  try {
    const value = c.decode(r);
    return { value, used: bytes.length - r.remaining };
  } catch (e) {
    if (e instanceof XdrError) return null;
    throw new Error(`${c.name} threw ${String(e)} instead of an XdrError`);
  }
}

/** Words biased towards what XDR uses (small counts/lengths, 0/1 flags) so decoders get deep. */
const word = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 4 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0xffffffff, 0x7fffffff, 0x80000000, 0x00010000) },
);
const wordBytes = fc.array(word, { maxLength: 96 }).map((ws) => {
  const b = Buffer.alloc(ws.length * 4);
  ws.forEach((w, i) => {
    b.writeUInt32BE(w, i * 4);
  });
  return b;
});
const rawBytes = fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a));

/** size sums what a decoded value holds: string/opaque bytes and array elements. */
function size(v: unknown, acc = { bytes: 0, elements: 0 }): { bytes: number; elements: number } {
  if (typeof v === 'string') acc.bytes += Buffer.byteLength(v);
  else if (Buffer.isBuffer(v)) acc.bytes += v.length;
  else if (Array.isArray(v)) {
    acc.elements += v.length;
    for (const e of v) size(e, acc);
  } else if (typeof v === 'object' && v !== null) {
    for (const e of Object.values(v)) size(e, acc);
  }
  return acc;
}

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

describe('generated decoders on hostile input', () => {
  it(`covers every decoder (${ALL.length})`, () => {
    expect(REMOTE.length).toBeGreaterThan(600);
  });

  it('throw nothing but XdrError on random bytes and random words', () => {
    fc.assert(
      fc.property(fc.nat({ max: ALL.length - 1 }), fc.oneof(wordBytes, rawBytes), (i, bytes) => {
        const c = ALL[i];
        if (c !== undefined) decodeOrXdrError(c, bytes);
      }),
      { numRuns: 20_000 },
    );
  });

  it('round-trip what they accept and reject every truncation of it', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.nat({ max: ALL.length - 1 }), wordBytes, (i, bytes) => {
        const c = ALL[i];
        if (c === undefined) return;
        const got = decodeOrXdrError(c, bytes);
        if (got === null) return;
        accepted++;
        const w = new XdrWriter();
        c.encode(w, got.value);
        const encoded = Buffer.from(w.finish());
        // (Not byte-equal to the input: the reader ignores padding content and invalid UTF-8.)
        const again = decodeOrXdrError(c, encoded);
        expect(again?.value).toEqual(got.value);
        expect(again?.used).toBe(encoded.length);
        for (let n = 0; n < encoded.length; n += encoded.length > 64 ? 3 : 1) {
          expect(decodeOrXdrError(c, encoded.subarray(0, n))).toBeNull();
        }
      }),
      { numRuns: 10_000 },
    );
    expect(accepted).toBeGreaterThan(1000);
  });

  it('allocate in proportion to the input for 64 KiB inputs', () => {
    const words = 16 * 1024;
    const pattern = (f: (i: number) => number): Buffer => {
      const b = Buffer.alloc(words * 4);
      for (let i = 0; i < words; i++) b.writeUInt32BE(f(i) >>> 0, i * 4);
      return b;
    };
    const inputs = [
      pattern(() => 0),
      pattern(() => 1),
      pattern(() => 2),
      pattern((i) => (i === 0 ? words - 1 : 0)), // a huge count, then the smallest elements
      pattern((i) => (i === 0 ? words - 1 : 1)),
      pattern((i) => (i < 2 ? 4000 : 1)),
      ...fc
        .sample(fc.uint8Array({ minLength: 65536, maxLength: 65536 }), { numRuns: 4, seed: 42 })
        .map((a) => Buffer.from(a)),
    ];
    const collect = forceGc();
    collect();
    const start = memory();
    let worst = 0;
    let runs = 0;
    for (const c of ALL) {
      for (const input of inputs) {
        const before = memory();
        const got = decodeOrXdrError(c, input);
        worst = Math.max(worst, memory() - before);
        runs++;
        if (got === null) continue;
        // Nothing decoded can be bigger than the bytes it came from.
        const s = size(got.value);
        expect(s.bytes).toBeLessThanOrEqual(got.used);
        expect(s.elements * 4).toBeLessThanOrEqual(got.used);
      }
    }
    collect();
    const retained = memory() - start;
    expect(runs).toBeGreaterThan(7000);
    // One Buffer or object per few input bytes is the worst case: stay under 64x the input.
    expect(worst).toBeLessThan(64 * 65536);
    expect(retained).toBeLessThan(16 * 1024 * 1024);
  });
});
