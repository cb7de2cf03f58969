import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { ServiceError } from '../errors.ts';

/** ImageFormat is the on-disk format of an image in the store. */
export type ImageFormat = 'qcow2' | 'raw';

/** ImageHeader is what an image file says about itself. */
export interface ImageHeader {
  readonly format: ImageFormat;
  /** virtualSize is the disk size the guest sees, in bytes. */
  readonly virtualSize: bigint;
}

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
// Formats that are neither qcow2 nor raw disks, refused rather than taken for raw: a guest
// would otherwise boot garbage, or the file is something else entirely.
const OTHER_MAGICS: ReadonlyArray<readonly [string, Buffer]> = [
  ['vmdk', Buffer.from('KDMV')],
  ['vdi', Buffer.from('<<< Oracle VM VirtualBox Disk Image >>>')],
  ['vhdx', Buffer.from('vhdxfile')],
  ['qed', Buffer.from('QED\0')],
  ['gzip', Buffer.from([0x1f, 0x8b])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zip', Buffer.from('PK\x03\x04')],
  ['html', Buffer.from('<!DOCTYPE')],
  ['html', Buffer.from('<html')],
];

/**
 * readImageHeader reads a stored image's format and virtual size from its own header. A qcow2
 * image must stand alone: a backing file named inside it would make the hypervisor open a path
 * of the uploader's choosing, and an encrypted one cannot boot without its key; both are refused.
 * Anything that is not qcow2 and not a known other format is raw, and its size is the file's.
 */
export async function readImageHeader(path: string): Promise<ImageHeader> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const head = await readAt(file, 0, Math.min(512, size));
    if (head.length >= 4 && head.readUInt32BE(0) === QCOW2_MAGIC) return qcow2(head);
    for (const [name, magic] of OTHER_MAGICS) {
      if (head.subarray(0, magic.length).equals(magic)) {
        throw new ServiceError(
          'INVALID',
          `the file is a ${name} file, not a qcow2 or raw disk image`,
          'input.url',
        );
      }
    }
    if (size === 0) throw new ServiceError('INVALID', 'the image is empty', 'input.url');
    if (size % 512 !== 0) {
      throw new ServiceError(
        'INVALID',
        `a raw disk image is a whole number of 512-byte sectors; this one is ${size} bytes`,
        'input.url',
      );
    }
    return { format: 'raw', virtualSize: BigInt(size) };
  } finally {
    await file.close();
  }
}

// qcow2 header (docs/interop/qcow2.txt in QEMU): version at 4, backing file offset at 8,
// size at 24, crypt method at 32; all big-endian.
function qcow2(head: Buffer): ImageHeader {
  if (head.length < 72)
    throw new ServiceError('INVALID', 'the qcow2 header is truncated', 'input.url');
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3)
    throw new ServiceError('INVALID', `unsupported qcow2 version ${version}`, 'input.url');
  if (head.readBigUInt64BE(8) !== 0n) {
    throw new ServiceError(
      'INVALID',
      'the qcow2 image names a backing file; upload a standalone image (qemu-img convert)',
      'input.url',
    );
  }
  if (head.readUInt32BE(32) !== 0)
    throw new ServiceError('INVALID', 'encrypted qcow2 images are not accepted', 'input.url');
  const virtualSize = head.readBigUInt64BE(24);
  if (virtualSize === 0n)
    throw new ServiceError('INVALID', 'the qcow2 image has a virtual size of 0', 'input.url');
  return { format: 'qcow2', virtualSize };
}

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}
