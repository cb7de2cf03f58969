// Byte-level encoders of ECMA-119 (ISO 9660) structures: numbers, text fields, dates, directory
// records, path tables and volume descriptors. iso9660.ts decides the layout.

/** SECTOR_BYTES is the logical block size of every volume Kumo writes. */
export const SECTOR_BYTES = 2048;

/** DIRECTORY_RECORD_BYTES is the length of a record with a one-byte identifier (`.`, `..`, root). */
export const DIRECTORY_RECORD_BYTES = 34;

/** PATH_TABLE_BYTES is the size of a path table that holds only the root directory. */
export const PATH_TABLE_BYTES = 10;

/** FLAG_FILE and FLAG_DIRECTORY are the file flags (ECMA-119 9.1.6) of the records Kumo writes. */
export const FLAG_FILE = 0;
export const FLAG_DIRECTORY = 2;
export type DirectoryFlags = typeof FLAG_FILE | typeof FLAG_DIRECTORY;

/** writeBoth16 writes v as a both-byte-order 16-bit number (ECMA-119 7.2.3): LE, then BE. */
export function writeBoth16(buf: Buffer, offset: number, v: number): void {
  buf.writeUInt16LE(v, offset);
  buf.writeUInt16BE(v, offset + 2);
}

/** writeBoth32 writes v as a both-byte-order 32-bit number (ECMA-119 7.3.3): LE, then BE. */
export function writeBoth32(buf: Buffer, offset: number, v: number): void {
  buf.writeUInt32LE(v, offset);
  buf.writeUInt32BE(v, offset + 4);
}

/** writeAscii writes s into a field of `length` bytes, padded with spaces (ECMA-119 7.4.3). */
export function writeAscii(buf: Buffer, offset: number, length: number, s: string): void {
  buf.fill(0x20, offset, offset + length);
  buf.write(s.slice(0, length), offset, 'latin1');
}

/**
 * writeUcs2 writes s as UCS-2 big-endian into a Joliet field of `length` bytes, padded with
 * UCS-2 spaces; characters past the field are cut (a 32-byte volume id holds 16 of them). An odd
 * last byte stays zero so that no reader takes it for half a character.
 */
export function writeUcs2(buf: Buffer, offset: number, length: number, s: string): void {
  const chars = Math.floor(length / 2);
  buf.fill(0, offset, offset + length);
  for (let i = 0; i < chars; i++) {
    buf.writeUInt16BE(i < s.length ? s.charCodeAt(i) : 0x20, offset + 2 * i);
  }
}

/** ucs2 encodes a Joliet file identifier: UCS-2 big-endian, no version suffix (as genisoimage). */
export function ucs2(s: string): Buffer {
  const out = Buffer.alloc(2 * s.length);
  for (let i = 0; i < s.length; i++) out.writeUInt16BE(s.charCodeAt(i), 2 * i);
  return out;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * writeVolumeDate writes a 17-byte descriptor date (ECMA-119 8.4.26.1): 16 ASCII digits
 * YYYYMMDDHHMMSScc, then the offset from GMT in 15-minute steps (0: Kumo writes UTC). null writes
 * the "not specified" value: sixteen '0' digits and a zero offset.
 */
export function writeVolumeDate(buf: Buffer, offset: number, date: Date | null): void {
  const digits =
    date === null
      ? '0'.repeat(16)
      : pad(date.getUTCFullYear(), 4) +
        pad(date.getUTCMonth() + 1, 2) +
        pad(date.getUTCDate(), 2) +
        pad(date.getUTCHours(), 2) +
        pad(date.getUTCMinutes(), 2) +
        pad(date.getUTCSeconds(), 2) +
        pad(Math.floor(date.getUTCMilliseconds() / 10), 2);
  buf.write(digits, offset, 'latin1');
  buf[offset + 16] = 0;
}

/** writeRecordDate writes a 7-byte directory record date (ECMA-119 9.1.5), in UTC. */
export function writeRecordDate(buf: Buffer, offset: number, date: Date): void {
  buf[offset] = date.getUTCFullYear() - 1900;
  buf[offset + 1] = date.getUTCMonth() + 1;
  buf[offset + 2] = date.getUTCDate();
  buf[offset + 3] = date.getUTCHours();
  buf[offset + 4] = date.getUTCMinutes();
  buf[offset + 5] = date.getUTCSeconds();
  buf[offset + 6] = 0;
}

/** directoryRecordLength is the size of a record whose identifier has `idLength` bytes. */
export function directoryRecordLength(idLength: number): number {
  // 33 fixed bytes, the identifier, and a pad byte that keeps the record length even (9.1.12).
  return 33 + idLength + (idLength % 2 === 0 ? 1 : 0);
}

/** DirectoryRecord is one entry of a directory, or the root record inside a descriptor. */
export interface DirectoryRecord {
  /** id is the file identifier: bytes 0x00 (`.`, root) and 0x01 (`..`), or an encoded name. */
  readonly id: Uint8Array;
  readonly extent: number;
  readonly size: number;
  readonly flags: DirectoryFlags;
  readonly date: Date;
}

/** writeDirectoryRecord writes r at offset (ECMA-119 9.1) and returns its length. */
export function writeDirectoryRecord(buf: Buffer, offset: number, r: DirectoryRecord): number {
  const length = directoryRecordLength(r.id.length);
  buf.fill(0, offset, offset + length);
  buf[offset] = length;
  buf[offset + 1] = 0; // no extended attribute record
  writeBoth32(buf, offset + 2, r.extent);
  writeBoth32(buf, offset + 10, r.size);
  writeRecordDate(buf, offset + 18, r.date);
  buf[offset + 25] = r.flags;
  buf[offset + 26] = 0; // not interleaved
  buf[offset + 27] = 0;
  writeBoth16(buf, offset + 28, 1); // volume sequence number
  buf[offset + 32] = r.id.length;
  buf.set(r.id, offset + 33);
  return length;
}

/**
 * writeRootPathTable writes a path table that lists only the root directory (ECMA-119 9.4):
 * the L table has little-endian numbers, the M table big-endian ones.
 */
export function writeRootPathTable(
  buf: Buffer,
  offset: number,
  rootExtent: number,
  order: 'L' | 'M',
): void {
  buf[offset] = 1; // identifier length: the root's is one 0x00 byte
  buf[offset + 1] = 0;
  if (order === 'L') {
    buf.writeUInt32LE(rootExtent, offset + 2);
    buf.writeUInt16LE(1, offset + 6); // the root is its own parent, directory number 1
  } else {
    buf.writeUInt32BE(rootExtent, offset + 2);
    buf.writeUInt16BE(1, offset + 6);
  }
  buf[offset + 8] = 0;
  buf[offset + 9] = 0; // pad to an even length
}

/** VolumeDescriptor holds what differs between the primary and the Joliet descriptor. */
export interface VolumeDescriptor {
  readonly kind: 'primary' | 'joliet';
  readonly volumeId: string;
  readonly applicationId: string;
  readonly volumeSectors: number;
  readonly pathTableL: number;
  readonly pathTableM: number;
  readonly root: DirectoryRecord;
  readonly date: Date;
}

/** JOLIET_LEVEL3_ESCAPE marks a supplementary descriptor as Joliet UCS-2 level 3. */
const JOLIET_LEVEL3_ESCAPE = '%/E';

/**
 * writeVolumeDescriptor writes a primary (type 1, ECMA-119 8.4) or Joliet supplementary
 * (type 2, 8.5) volume descriptor into the sector at offset. They share one layout; Joliet writes
 * its text fields in UCS-2 and names its character set in the escape sequences field.
 */
export function writeVolumeDescriptor(buf: Buffer, offset: number, d: VolumeDescriptor): void {
  const joliet = d.kind === 'joliet';
  const text = joliet ? writeUcs2 : writeAscii;
  const at = (field: number): number => offset + field;
  buf.fill(0, offset, offset + SECTOR_BYTES);
  buf[at(0)] = joliet ? 2 : 1;
  buf.write('CD001', at(1), 'latin1');
  buf[at(6)] = 1;
  text(buf, at(8), 32, ''); // system identifier
  text(buf, at(40), 32, d.volumeId);
  writeBoth32(buf, at(80), d.volumeSectors);
  if (joliet) buf.write(JOLIET_LEVEL3_ESCAPE, at(88), 'latin1');
  writeBoth16(buf, at(120), 1); // volume set size
  writeBoth16(buf, at(124), 1); // volume sequence number
  writeBoth16(buf, at(128), SECTOR_BYTES);
  writeBoth32(buf, at(132), PATH_TABLE_BYTES);
  buf.writeUInt32LE(d.pathTableL, at(140));
  buf.writeUInt32BE(d.pathTableM, at(148));
  writeDirectoryRecord(buf, at(156), d.root);
  text(buf, at(190), 128, ''); // volume set
  text(buf, at(318), 128, ''); // publisher
  text(buf, at(446), 128, ''); // data preparer
  text(buf, at(574), 128, d.applicationId);
  text(buf, at(702), 37, ''); // copyright file
  text(buf, at(739), 37, ''); // abstract file
  text(buf, at(776), 37, ''); // bibliographic file
  writeVolumeDate(buf, at(813), d.date); // creation
  writeVolumeDate(buf, at(830), d.date); // modification
  writeVolumeDate(buf, at(847), null); // expiration: never
  writeVolumeDate(buf, at(864), d.date); // effective
  buf[at(881)] = 1; // file structure version
  buf.fill(0x20, at(883), at(883 + 512)); // application use
}

/** writeTerminator writes the volume descriptor set terminator (ECMA-119 8.3). */
export function writeTerminator(buf: Buffer, offset: number): void {
  buf.fill(0, offset, offset + SECTOR_BYTES);
  buf[offset] = 255;
  buf.write('CD001', offset + 1, 'latin1');
  buf[offset + 6] = 1;
}
