// A writer of small ISO 9660 images with Joliet names and one flat root directory: enough for a
// cloud-init seed, with no external tool at run time.
//
// Layout, in 2048-byte sectors: 0-15 system area (zeros); 16 primary volume descriptor; 17 Joliet
// supplementary descriptor; 18 terminator; 19-22 the L and M path tables of the primary and the
// Joliet tree; then the primary root directory, the Joliet root directory, and the file extents.
// Both trees point at the same extents.

import {
  type DirectoryRecord,
  directoryRecordLength,
  FLAG_DIRECTORY,
  FLAG_FILE,
  SECTOR_BYTES,
  ucs2,
  writeDirectoryRecord,
  writeRootPathTable,
  writeTerminator,
  writeVolumeDescriptor,
} from './iso9660-encode.ts';
import { compareIdentifiers, validateIsoFileName, withLevel1Names } from './iso9660-names.ts';

/** IsoFile is one file of the image's root directory. */
export interface IsoFile {
  /** name is the Joliet name, kept as given (1 to 64 UCS-2 characters, no '/', ':', ';'...). */
  readonly name: string;
  readonly data: Uint8Array;
}

/** IsoOptions describe the image that {@link writeIso} writes. */
export interface IsoOptions {
  /**
   * volumeId is the volume label: 1 to 32 of A-Z, a-z, 0-9 and '_'. Both descriptors store it
   * as given, as `genisoimage -V` does, so that blkid reports `cidata` and not `CIDATA` even
   * where it reads only the primary descriptor (older util-linux), and older cloud-init, which
   * looks for `LABEL=cidata` only, finds the seed. The Joliet field holds its first 16 characters.
   */
  readonly volumeId: string;
  readonly files: ReadonlyArray<IsoFile>;
  /** clock dates the volume and every record (in UTC). @default () => new Date() */
  readonly clock?: () => Date;
}

/** ISO_MAX_BYTES bounds the whole image: a seed is a few kilobytes; this stops runaway input. */
export const ISO_MAX_BYTES = 16 * 1024 * 1024;

/** ISO_MAX_FILES bounds the root directory. */
export const ISO_MAX_FILES = 1024;

const APPLICATION_ID = 'KUMO';
const PRIMARY_DESCRIPTOR = 16;
const JOLIET_DESCRIPTOR = 17;
const TERMINATOR = 18;
const PATH_TABLES = { primaryL: 19, primaryM: 20, jolietL: 21, jolietM: 22 } as const;
const FIRST_DIRECTORY = 23;

// d-characters, plus lower case: genisoimage stores `-V cidata` unchanged, and so do we.
const VOLUME_ID = /^[A-Za-z0-9_]{1,32}$/;

// The root's `.` and `..` records both carry a one-byte identifier: 0x00 and 0x01 (9.1.11).
const SELF_ID = Uint8Array.of(0);
const PARENT_ID = Uint8Array.of(1);

/** writeIso returns an ISO 9660 image with a Joliet tree holding opts.files in its root. */
export function writeIso(opts: IsoOptions): Buffer {
  if (!VOLUME_ID.test(opts.volumeId)) {
    throw new Error(
      `ISO volume id ${JSON.stringify(opts.volumeId)} must be 1 to 32 of A-Z, a-z, 0-9 and '_'`,
    );
  }
  const date = checkedDate((opts.clock ?? (() => new Date()))());
  const files = checkedFiles(opts.files);

  // Directory sizes depend only on the sorted names, so directories are placed before extents.
  const primaryIds = files
    .map((f) => f.level1)
    .sort(compareIdentifiers)
    .map(level1Id);
  const jolietIds = files
    .map((f) => f.name)
    .sort(compareIdentifiers)
    .map(ucs2);
  const primaryRoot = { extent: FIRST_DIRECTORY, size: directoryBytes(primaryIds) };
  const jolietRoot = {
    extent: primaryRoot.extent + primaryRoot.size / SECTOR_BYTES,
    size: directoryBytes(jolietIds),
  };
  let next = jolietRoot.extent + jolietRoot.size / SECTOR_BYTES;
  const placed = files.map((f) => {
    // An empty file owns no sector; its extent is never read.
    const extent = f.data.length === 0 ? 0 : next;
    next += Math.ceil(f.data.length / SECTOR_BYTES);
    return { ...f, extent };
  });
  const totalBytes = next * SECTOR_BYTES;
  if (totalBytes > ISO_MAX_BYTES) {
    throw new Error(`ISO image would take ${totalBytes} bytes, over the limit of ${ISO_MAX_BYTES}`);
  }

  const buf = Buffer.alloc(totalBytes);
  for (const f of placed) buf.set(f.data, f.extent * SECTOR_BYTES);
  const record = (id: Uint8Array, f: (typeof placed)[number]): DirectoryRecord => ({
    id,
    extent: f.extent,
    size: f.data.length,
    flags: FLAG_FILE,
    date,
  });
  writeDirectory(
    buf,
    primaryRoot,
    placed.map((f) => ({ key: f.level1, record: record(level1Id(f.level1), f) })),
    date,
  );
  writeDirectory(
    buf,
    jolietRoot,
    placed.map((f) => ({ key: f.name, record: record(ucs2(f.name), f) })),
    date,
  );

  writeRootPathTable(buf, PATH_TABLES.primaryL * SECTOR_BYTES, primaryRoot.extent, 'L');
  writeRootPathTable(buf, PATH_TABLES.primaryM * SECTOR_BYTES, primaryRoot.extent, 'M');
  writeRootPathTable(buf, PATH_TABLES.jolietL * SECTOR_BYTES, jolietRoot.extent, 'L');
  writeRootPathTable(buf, PATH_TABLES.jolietM * SECTOR_BYTES, jolietRoot.extent, 'M');
  const descriptor = {
    volumeId: opts.volumeId,
    applicationId: APPLICATION_ID,
    volumeSectors: next,
    date,
  };
  writeVolumeDescriptor(buf, PRIMARY_DESCRIPTOR * SECTOR_BYTES, {
    ...descriptor,
    kind: 'primary',
    pathTableL: PATH_TABLES.primaryL,
    pathTableM: PATH_TABLES.primaryM,
    root: { id: SELF_ID, ...primaryRoot, flags: FLAG_DIRECTORY, date },
  });
  writeVolumeDescriptor(buf, JOLIET_DESCRIPTOR * SECTOR_BYTES, {
    ...descriptor,
    kind: 'joliet',
    pathTableL: PATH_TABLES.jolietL,
    pathTableM: PATH_TABLES.jolietM,
    root: { id: SELF_ID, ...jolietRoot, flags: FLAG_DIRECTORY, date },
  });
  writeTerminator(buf, TERMINATOR * SECTOR_BYTES);
  return buf;
}

const level1Id = (name: string): Buffer => Buffer.from(name, 'latin1');

function checkedDate(date: Date): Date {
  const year = date.getUTCFullYear();
  // Directory records count years from 1900 in one byte.
  if (Number.isNaN(year) || year < 1900 || year > 2155) {
    throw new Error(`ISO date ${String(date)} is not between 1900 and 2155`);
  }
  return date;
}

function checkedFiles(files: ReadonlyArray<IsoFile>) {
  if (files.length > ISO_MAX_FILES) {
    throw new Error(`ISO image has ${files.length} files, over the limit of ${ISO_MAX_FILES}`);
  }
  const seen = new Set<string>();
  for (const f of files) {
    validateIsoFileName(f.name);
    if (seen.has(f.name)) throw new Error(`ISO file name ${JSON.stringify(f.name)} is repeated`);
    seen.add(f.name);
  }
  return withLevel1Names(files);
}

/**
 * recordOffsets places `.`, `..` and one record per identifier, in order, and returns each
 * file record's offset from the directory's start and the directory's whole size. A record
 * never spans a sector boundary (ECMA-119 6.8.1.1): one that would starts the next sector.
 */
function recordOffsets(ids: readonly Uint8Array[]): { offsets: number[]; bytes: number } {
  let offset = 2 * directoryRecordLength(1);
  const offsets = ids.map((id) => {
    const length = directoryRecordLength(id.length);
    const used = offset % SECTOR_BYTES;
    if (used + length > SECTOR_BYTES) offset += SECTOR_BYTES - used;
    const at = offset;
    offset += length;
    return at;
  });
  return { offsets, bytes: Math.ceil(offset / SECTOR_BYTES) * SECTOR_BYTES };
}

function directoryBytes(ids: readonly Uint8Array[]): number {
  return recordOffsets(ids).bytes;
}

function writeDirectory(
  buf: Buffer,
  dir: { readonly extent: number; readonly size: number },
  entries: ReadonlyArray<{ readonly key: string; readonly record: DirectoryRecord }>,
  date: Date,
): void {
  // The same order as the one directoryBytes measured.
  const sorted = [...entries].sort((a, b) => compareIdentifiers(a.key, b.key));
  const start = dir.extent * SECTOR_BYTES;
  const self = { ...dir, id: SELF_ID, flags: FLAG_DIRECTORY, date } as const;
  const selfLength = writeDirectoryRecord(buf, start, self);
  // The root is its own parent.
  writeDirectoryRecord(buf, start + selfLength, { ...self, id: PARENT_ID });
  const { offsets } = recordOffsets(sorted.map((e) => e.record.id));
  sorted.forEach((e, i) => {
    writeDirectoryRecord(buf, start + (offsets[i] ?? 0), e.record);
  });
}
