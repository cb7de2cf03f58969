import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageId } from '../../entities/ids.ts';
import type { ImageFormat } from '../../entities/image.ts';

const STORED = /^([0-9a-f-]{36})\.(qcow2|raw)$/;
const INCOMING = /^([0-9a-f-]{36})\.incoming(\.part)?$/;

/**
 * ImageStore is the controller's directory of image files: `<imageId>.<format>` once an image
 * is complete, `<imageId>.incoming` while its bytes arrive. Only the image service writes it.
 */
export class ImageStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** open creates the directory. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** pathOf is where a complete image's file is. */
  pathOf(id: ImageId, format: ImageFormat): string {
    return join(this.dir, `${id}.${format}`);
  }

  /** incomingPath is where an image's bytes go while they arrive and are checked. */
  incomingPath(id: ImageId): string {
    return join(this.dir, `${id}.incoming`);
  }

  /** size is the stored file's size in bytes, or null when it is missing. */
  async size(id: ImageId, format: ImageFormat): Promise<bigint | null> {
    const s = await stat(this.pathOf(id, format), { bigint: true }).catch(() => null);
    return s ? s.size : null;
  }

  /** remove deletes every file of an image (complete or not). */
  async remove(id: ImageId): Promise<void> {
    await Promise.all(
      [
        this.pathOf(id, 'qcow2'),
        this.pathOf(id, 'raw'),
        this.incomingPath(id),
        `${this.incomingPath(id)}.part`,
      ].map((p) => rm(p, { force: true })),
    );
  }

  /**
   * sweep deletes files of images that are not `keep`: left by a controller that stopped in the
   * middle of an import, or by a removal whose file deletion failed. Returns what it deleted.
   */
  async sweep(keep: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.dir)) {
      const id = STORED.exec(name)?.[1] ?? INCOMING.exec(name)?.[1];
      if (!id) continue;
      if (keep.has(id) && !INCOMING.test(name)) continue;
      await rm(join(this.dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }
}
