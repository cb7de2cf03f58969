import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader, XdrWriter } from './index.ts';

/** hex parses space-separated hex words. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function encode(f: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter(8);
  f(w);
  return Buffer.from(w.finish());
}

describe('XdrReader / XdrWriter', () => {
  it('decodes the CONNECT_GET_LIB_VERSION reply payload (unsigned hyper)', () => {
    const r = new XdrReader(hex('00000000 00895440'));
    expect(r.uhyper()).toBe(9000000n);
    r.done();
    expect(encode((w) => w.uhyper(9000000n))).toEqual(hex('00000000 00895440'));
  });

  it('encodes a typed param bandwidth=100 ULLONG exactly', () => {
    const bytes = encode((w) => {
      w.string('bandwidth', 4194304);
      w.int(4); // VIR_TYPED_PARAM_ULLONG
      w.uhyper(100n);
    });
    expect(bytes).toEqual(hex('00000009 62616e64 77696474 68000000 00000004 00000000 00000064'));
    const r = new XdrReader(bytes);
    expect(r.string(4194304)).toBe('bandwidth');
    expect(r.int()).toBe(4);
    expect(r.uhyper()).toBe(100n);
    r.done();
  });

  it('sends char model[32] as 32 words: remote_node_get_info_ret is 160 bytes', () => {
    const model = 'x86_64';
    const bytes = encode((w) => {
      for (let i = 0; i < 32; i++) w.int(i < model.length ? model.charCodeAt(i) : 0);
      w.uhyper(16384000n); // memory KiB
      for (const v of [8, 2400, 1, 1, 4, 2]) w.int(v); // cpus mhz nodes sockets cores threads
    });
    expect(bytes.length).toBe(128 + 8 + 4 * 6);
    expect(bytes.subarray(0, 8)).toEqual(hex('00000078 00000038')); // 'x' '8'
    expect(bytes.subarray(20, 28)).toEqual(hex('00000034 00000000')); // '4' then NUL
    const r = new XdrReader(bytes);
    const chars: number[] = [];
    for (let i = 0; i < 32; i++) chars.push(r.int());
    expect(String.fromCharCode(...chars.filter((c) => c !== 0))).toBe(model);
    expect(r.uhyper()).toBe(16384000n);
    expect(r.remaining).toBe(24);
  });

  it('encodes optional values as a 0/1 presence word', () => {
    expect(encode((w) => w.uint(0))).toEqual(hex('00000000'));
    const present = encode((w) => {
      w.uint(1);
      w.string('qemu:///system');
    });
    expect(present).toEqual(hex('00000001 0000000e 71656d75 3a2f2f2f 73797374 656d0000'));
    const r = new XdrReader(present);
    expect(r.optional()).toBe(true);
    expect(r.string()).toBe('qemu:///system');
    expect(new XdrReader(hex('00000000')).optional()).toBe(false);
    expect(() => new XdrReader(hex('01000000')).optional()).toThrow(XdrError);
  });

  it('pads strings and opaques to 4 bytes with zeros', () => {
    for (const [s, want] of [
      ['', '00000000'],
      ['a', '00000001 61000000'],
      ['ab', '00000002 61620000'],
      ['abc', '00000003 61626300'],
      ['abcd', '00000004 61626364'],
      ['é', '00000002 c3a90000'],
    ] as const) {
      const bytes = encode((w) => w.string(s));
      expect(bytes).toEqual(hex(want));
      const r = new XdrReader(bytes);
      expect(r.string()).toBe(s);
      r.done();
    }
    const uuid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(encode((w) => w.fixedOpaque(uuid, 16))).toEqual(uuid);
    expect(encode((w) => w.varOpaque(Buffer.from([1, 2, 3, 4, 5]), 8))).toEqual(
      hex('00000005 01020304 05000000'),
    );
    expect(new XdrReader(hex('00000005 01020304 05000000')).varOpaque(8)).toEqual(
      Buffer.from([1, 2, 3, 4, 5]),
    );
    expect(() => new XdrWriter().fixedOpaque(Buffer.alloc(15), 16)).toThrow(XdrError);
  });

  it('handles negative ints, unsigned flags and 64-bit extremes', () => {
    expect(encode((w) => w.int(-1))).toEqual(hex('ffffffff'));
    expect(new XdrReader(hex('ffffffff')).int()).toBe(-1);
    expect(new XdrReader(hex('ffffffff')).uint()).toBe(0xffffffff);
    const enforce = (1 << 31) >>> 0; // VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS
    expect(enforce).toBe(2147483648);
    expect(encode((w) => w.uint(enforce))).toEqual(hex('80000000'));
    expect(() => new XdrWriter().uint(1 << 31)).toThrow(XdrError); // negative without >>> 0
    expect(() => new XdrWriter().int(2 ** 31)).toThrow(XdrError);
    expect(() => new XdrWriter().int(1.5)).toThrow(XdrError);
    expect(encode((w) => w.hyper(-2n))).toEqual(hex('ffffffff fffffffe'));
    expect(new XdrReader(hex('ffffffff fffffffe')).hyper()).toBe(-2n);
    expect(new XdrReader(hex('ffffffff ffffffff')).uhyper()).toBe(2n ** 64n - 1n);
    expect(() => new XdrWriter().uhyper(-1n)).toThrow(XdrError);
    expect(() => new XdrWriter().hyper(2n ** 63n)).toThrow(XdrError);
  });

  it('round-trips bool, float and double', () => {
    const bytes = encode((w) => {
      w.bool(true);
      w.bool(false);
      w.float(1.5);
      w.double(-0.1);
    });
    expect(bytes).toEqual(hex('00000001 00000000 3fc00000 bfb99999 9999999a'));
    const r = new XdrReader(bytes);
    expect([r.bool(), r.bool(), r.float(), r.double()]).toEqual([true, false, 1.5, -0.1]);
    expect(() => new XdrReader(hex('00000002')).bool()).toThrow(XdrError);
  });

  it('checks bounds and truncation before allocating', () => {
    expect(() => new XdrWriter().string('abcde', 4)).toThrow(/exceeds its bound 4/);
    expect(() => new XdrWriter().count(17, 16)).toThrow(XdrError);
    expect(() => new XdrReader(hex('00000005 61626364')).string()).toThrow(/truncated string/);
    expect(() => new XdrReader(hex('00000005 61626364 65000000')).string(4)).toThrow(/bound 4/);
    expect(() => new XdrReader(hex('7fffffff')).varOpaque()).toThrow(/truncated opaque/);
    expect(() => new XdrReader(hex('00000003 00000001')).count()).toThrow(/cannot fit/);
    expect(new XdrReader(hex('00000001 00000001')).count(1)).toBe(1);
    expect(() => new XdrReader(hex('000000')).int()).toThrow(XdrError);
    const r = new XdrReader(hex('00000001 00000002'));
    r.int();
    expect(() => r.done()).toThrow(/4 unexpected trailing bytes/);
    expect(() => new XdrReader(Buffer.alloc(4), 2, 8)).toThrow(XdrError);
  });

  it('reads a window of a larger buffer', () => {
    const r = new XdrReader(hex('ffffffff 00000007 ffffffff'), 4, 8);
    expect(r.int()).toBe(7);
    r.done();
  });

  it('grows its buffer, even from an initial size of 0', () => {
    const w = new XdrWriter(0);
    const big = 'x'.repeat(10_000);
    w.string(big);
    w.int(1);
    const r = new XdrReader(w.finish());
    expect(r.string()).toBe(big);
    expect(r.int()).toBe(1);
  });

  it('writes a frame length in place', () => {
    const w = new XdrWriter();
    w.uint(0);
    w.uint(0x20008086);
    w.setUint32At(0, w.length);
    expect(Buffer.from(w.finish())).toEqual(hex('00000008 20008086'));
    expect(() => w.setUint32At(8, 1)).toThrow(XdrError);
  });
});
