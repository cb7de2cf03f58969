import { describe, expect, it } from 'vitest';
import { ISO_MAX_BYTES, ISO_MAX_FILES, type IsoFile, writeIso } from './iso9660.ts';

const SECTOR = 2048;
const CLOCK = () => new Date('2026-01-02T03:04:05.670Z');

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const SEED: IsoFile[] = [
  { name: 'user-data', data: text('#cloud-config\n{}\n') },
  { name: 'meta-data', data: text('instance-id: "i-1"\n') },
  { name: 'network-config', data: text('version: 2\n'.repeat(300)) },
];

// A both-byte-order number is the same value twice: little-endian, then big-endian.
function both32(buf: Buffer, offset: number): number {
  const le = buf.readUInt32LE(offset);
  expect(buf.readUInt32BE(offset + 4), `BE half at ${offset}`).toBe(le);
  return le;
}
function both16(buf: Buffer, offset: number): number {
  const le = buf.readUInt16LE(offset);
  expect(buf.readUInt16BE(offset + 2), `BE half at ${offset}`).toBe(le);
  return le;
}

interface Record {
  length: number;
  extent: number;
  size: number;
  flags: number;
  date: number[];
  id: Buffer;
}

function record(buf: Buffer, offset: number): Record {
  const idLength = buf[offset + 32] ?? 0;
  return {
    length: buf[offset] ?? 0,
    extent: both32(buf, offset + 2),
    size: both32(buf, offset + 10),
    date: [...buf.subarray(offset + 18, offset + 25)],
    flags: buf[offset + 25] ?? 0,
    id: buf.subarray(offset + 33, offset + 33 + idLength),
  };
}

// Walks a directory the way readers do: a zero length byte means "go on at the next sector".
function directory(buf: Buffer, root: Record): Array<Record & { offset: number }> {
  const out: Array<Record & { offset: number }> = [];
  const start = root.extent * SECTOR;
  let at = start;
  while (at < start + root.size) {
    if (buf[at] === 0) {
      at = (Math.floor(at / SECTOR) + 1) * SECTOR;
      continue;
    }
    const r = record(buf, at);
    expect(Math.floor(at / SECTOR), 'a record spans sectors').toBe(
      Math.floor((at + r.length - 1) / SECTOR),
    );
    out.push({ ...r, offset: at });
    at += r.length;
  }
  return out;
}

const ucs2 = (b: Buffer): string => Buffer.from(b).swap16().toString('utf16le');
const content = (buf: Buffer, r: Record): string =>
  buf.subarray(r.extent * SECTOR, r.extent * SECTOR + r.size).toString('utf8');

describe('writeIso', () => {
  const iso = writeIso({ volumeId: 'cidata', files: SEED, clock: CLOCK });
  const pvd = iso.subarray(16 * SECTOR, 17 * SECTOR);
  const svd = iso.subarray(17 * SECTOR, 18 * SECTOR);

  it('leaves the system area empty and ends the descriptor set with a terminator', () => {
    expect(iso.length % SECTOR).toBe(0);
    expect(iso.subarray(0, 16 * SECTOR).every((b) => b === 0)).toBe(true);
    for (const [sector, type] of [
      [16, 1],
      [17, 2],
      [18, 255],
    ] as const) {
      const d = iso.subarray(sector * SECTOR, (sector + 1) * SECTOR);
      expect(d[0]).toBe(type);
      expect(d.toString('latin1', 1, 6)).toBe('CD001');
      expect(d[6]).toBe(1);
    }
  });

  it('fills the primary volume descriptor', () => {
    expect(pvd.toString('latin1', 40, 72)).toBe(`cidata${' '.repeat(26)}`);
    expect(both32(pvd, 80)).toBe(iso.length / SECTOR);
    expect(both16(pvd, 120)).toBe(1);
    expect(both16(pvd, 124)).toBe(1);
    expect(both16(pvd, 128)).toBe(SECTOR);
    expect(both32(pvd, 132)).toBe(10);
    expect(pvd.readUInt32LE(140)).toBe(19);
    expect(pvd.readUInt32BE(148)).toBe(20);
    expect(pvd.toString('latin1', 574, 578)).toBe('KUMO');
    expect(pvd.toString('latin1', 813, 829)).toBe('2026010203040567');
    expect(pvd.toString('latin1', 830, 846)).toBe('2026010203040567');
    expect(pvd.toString('latin1', 847, 863)).toBe('0'.repeat(16));
    expect([pvd[829], pvd[846], pvd[863]]).toEqual([0, 0, 0]);
    expect(pvd[881]).toBe(1);
    const root = record(pvd, 156);
    expect(root).toMatchObject({ length: 34, extent: 23, size: SECTOR, flags: 2 });
    expect([...root.id]).toEqual([0]);
    expect(root.date).toEqual([126, 1, 2, 3, 4, 5, 0]);
  });

  it('fills the Joliet descriptor in UCS-2 and marks it level 3', () => {
    expect(svd.toString('latin1', 88, 91)).toBe('%/E');
    expect(ucs2(svd.subarray(40, 72))).toBe(`cidata${' '.repeat(10)}`);
    expect(ucs2(svd.subarray(574, 582))).toBe('KUMO');
    expect(both32(svd, 80)).toBe(iso.length / SECTOR);
    expect(svd.readUInt32LE(140)).toBe(21);
    expect(svd.readUInt32BE(148)).toBe(22);
    expect(record(svd, 156)).toMatchObject({ extent: 24, size: SECTOR, flags: 2 });
  });

  it('writes L and M path tables that list the root of each tree', () => {
    for (const [sector, order, root] of [
      [19, 'L', 23],
      [20, 'M', 23],
      [21, 'L', 24],
      [22, 'M', 24],
    ] as const) {
      const t = iso.subarray(sector * SECTOR, sector * SECTOR + 10);
      expect([t[0], t[1], t[8], t[9]]).toEqual([1, 0, 0, 0]);
      const extent = order === 'L' ? t.readUInt32LE(2) : t.readUInt32BE(2);
      const parent = order === 'L' ? t.readUInt16LE(6) : t.readUInt16BE(6);
      expect([extent, parent]).toEqual([root, 1]);
    }
  });

  it('lists level-1 names in the primary root and real names in the Joliet root', () => {
    const primary = directory(iso, record(pvd, 156));
    const joliet = directory(iso, record(svd, 156));
    for (const dir of [primary, joliet]) {
      expect(dir.slice(0, 2).map((r) => [...r.id])).toEqual([[0], [1]]);
      expect(dir.slice(0, 2).map((r) => [r.extent, r.flags])).toEqual([
        [dir[0]?.extent, 2],
        [dir[0]?.extent, 2],
      ]);
    }
    const names = primary.slice(2).map((r) => r.id.toString('latin1'));
    expect(names).toEqual(['META_DAT.;1', 'NETWORK_.;1', 'USER_DAT.;1']);
    expect(joliet.slice(2).map((r) => ucs2(r.id))).toEqual([
      'meta-data',
      'network-config',
      'user-data',
    ]);
    // Both trees share the extents, and every record's length stays even.
    expect(primary.slice(2).map((r) => [r.extent, r.size])).toEqual(
      joliet.slice(2).map((r) => [r.extent, r.size]),
    );
    for (const r of [...primary, ...joliet]) {
      expect(r.length % 2).toBe(0);
      expect(r.date).toEqual([126, 1, 2, 3, 4, 5, 0]);
    }
    const byName = new Map(joliet.slice(2).map((r) => [ucs2(r.id), r]));
    for (const f of SEED) {
      const r = byName.get(f.name);
      expect(r?.flags).toBe(0);
      expect(r && content(iso, r)).toBe(Buffer.from(f.data).toString('utf8'));
    }
  });

  it('makes level-1 names unique and keeps the Joliet names apart', () => {
    const files = ['meta-data', 'meta_data', 'Meta-Data', 'a.b.config', 'x'].map((name) => ({
      name,
      data: text(name),
    }));
    const out = writeIso({ volumeId: 'V', files, clock: CLOCK });
    const primary = directory(out, record(out.subarray(16 * SECTOR), 156)).slice(2);
    const names = primary.map((r) => r.id.toString('latin1'));
    expect(names).toEqual(['A_B.CON;1', 'META_001.;1', 'META_002.;1', 'META_DAT.;1', 'X.;1']);
    expect(primary.map((r) => content(out, r)).sort()).toEqual(files.map((f) => f.name).sort());
  });

  it('spreads a long directory over sectors without splitting a record', () => {
    const files = Array.from({ length: 200 }, (_, i) => ({
      name: `file-${String(i).padStart(3, '0')}-${'x'.repeat(40)}`,
      data: text(`file ${i}\n`),
    }));
    const out = writeIso({ volumeId: 'MANY', files, clock: CLOCK });
    const joliet = directory(out, record(out.subarray(17 * SECTOR), 156)).slice(2);
    expect(record(out.subarray(17 * SECTOR), 156).size).toBeGreaterThan(4 * SECTOR);
    expect(joliet.map((r) => ucs2(r.id))).toEqual(files.map((f) => f.name));
    expect(joliet.map((r) => content(out, r))).toEqual(files.map((_, i) => `file ${i}\n`));
    const primary = directory(out, record(out.subarray(16 * SECTOR), 156)).slice(2);
    expect(new Set(primary.map((r) => r.id.toString('latin1'))).size).toBe(200);
  });

  it('gives an empty file no sector', () => {
    const out = writeIso({ volumeId: 'E', files: [{ name: 'empty', data: new Uint8Array() }] });
    const [file] = directory(out, record(out.subarray(17 * SECTOR), 156)).slice(2);
    expect(file).toMatchObject({ size: 0, extent: 0 });
    expect(out.length).toBe(25 * SECTOR);
  });

  it('dates the volume now by default', () => {
    const before = Date.now();
    const out = writeIso({ volumeId: 'NOW', files: [] });
    const stamp = out.toString('latin1', 16 * SECTOR + 813, 16 * SECTOR + 827);
    const written = Date.parse(
      `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(8, 10)}:${stamp.slice(10, 12)}:${stamp.slice(12, 14)}Z`,
    );
    expect(written).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(written).toBeLessThanOrEqual(Date.now());
  });

  it('rejects bad volume ids, names, dates and sizes with clear errors', () => {
    const file = (name: string): IsoFile => ({ name, data: text('x') });
    const iso = (volumeId: string, files: IsoFile[] = [], clock = CLOCK) =>
      writeIso({ volumeId, files, clock });
    expect(() => iso('')).toThrow(/volume id "" must be 1 to 32/);
    expect(() => iso('A'.repeat(33))).toThrow(/volume id/);
    expect(() => iso('ci-data')).toThrow(/volume id/);
    expect(() => iso('ci data')).toThrow(/volume id/);
    expect(iso('A'.repeat(32)).toString('latin1', 16 * SECTOR + 40, 16 * SECTOR + 72)).toBe(
      'A'.repeat(32),
    );
    expect(() => iso('V', [file('')])).toThrow(/name is empty/);
    expect(() => iso('V', [file('n'.repeat(65))])).toThrow(/longer than 64/);
    expect(iso('V', [file('n'.repeat(64))]).length).toBeGreaterThan(0);
    expect(() => iso('V', [file('a/b')])).toThrow(/forbidden character "\/"/);
    expect(() => iso('V', [file('a;1')])).toThrow(/forbidden character ";"/);
    expect(() => iso('V', [file('a\nb')])).toThrow(/forbidden character "\\n"/);
    expect(() => iso('V', [file('..')])).toThrow(/reserved/);
    expect(() => iso('V', [file('emoji-\u{1F600}')])).toThrow(/outside UCS-2/);
    expect(() => iso('V', [file('a'), file('a')])).toThrow(/"a" is repeated/);
    expect(() => iso('V', [], () => new Date('1899-12-31T23:59:59Z'))).toThrow(/1900 and 2155/);
    expect(() => iso('V', [], () => new Date(Number.NaN))).toThrow(/1900 and 2155/);
    const big = { name: 'big', data: new Uint8Array(ISO_MAX_BYTES) };
    expect(() => iso('V', [big])).toThrow(`over the limit of ${ISO_MAX_BYTES}`);
    const many = Array.from({ length: ISO_MAX_FILES + 1 }, (_, i) => file(`f${i}`));
    expect(() => iso('V', many)).toThrow(/over the limit of 1024/);
  });
});
