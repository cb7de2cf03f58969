import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImageHeader } from '../../src/services/images/image-format.ts';

// Real images made by qemu-img (installed with the rig's packages), not hand-made headers.
const dir = mkdtempSync(join(tmpdir(), 'kumo-img-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function qemuImg(...args: string[]): void {
  execFileSync('qemu-img', args, { stdio: 'ignore' });
}

describe('readImageHeader', () => {
  it('reads a qcow2 image: format and virtual size from its header, not its file size', async () => {
    const f = join(dir, 'a.qcow2');
    qemuImg('create', '-f', 'qcow2', f, '3G');
    expect(await readImageHeader(f)).toEqual({ format: 'qcow2', virtualSize: 3n * 1024n ** 3n });
  });

  it('reads qcow2 version 2 too', async () => {
    const f = join(dir, 'v2.qcow2');
    qemuImg('create', '-f', 'qcow2', '-o', 'compat=0.10', f, '1M');
    expect(await readImageHeader(f)).toEqual({ format: 'qcow2', virtualSize: 1024n ** 2n });
  });

  it('takes a whole number of sectors without a known header for raw', async () => {
    const f = join(dir, 'a.raw');
    qemuImg('create', '-f', 'raw', f, '2M');
    expect(await readImageHeader(f)).toEqual({ format: 'raw', virtualSize: 2n * 1024n ** 2n });
  });

  it('refuses a qcow2 image with a backing file (it would open a path of the uploader choosing)', async () => {
    const base = join(dir, 'base.qcow2');
    const top = join(dir, 'top.qcow2');
    qemuImg('create', '-f', 'qcow2', base, '1M');
    qemuImg('create', '-f', 'qcow2', '-F', 'qcow2', '-b', base, top);
    await expect(readImageHeader(top)).rejects.toThrow(/backing file/);
  });

  it('refuses an encrypted qcow2 image', async () => {
    // A real qcow2 with its crypt method set to LUKS (header offset 32). qemu-img can make a LUKS
    // image, but it times its key stretching, which fails on a loaded machine.
    const f = join(dir, 'enc.qcow2');
    qemuImg('create', '-f', 'qcow2', f, '1M');
    const bytes = readFileSync(f);
    bytes.writeUInt32BE(2, 32);
    writeFileSync(f, bytes);
    await expect(readImageHeader(f)).rejects.toThrow(/encrypted/);
  });

  it('refuses what is not a disk image: other formats, web pages, odd sizes, empty files, truncated headers', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['page.html', Buffer.from('<!DOCTYPE html><html><body>404</body></html>'), /html file/],
      ['archive.gz', Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), /gzip file/],
      ['odd.raw', Buffer.alloc(1000), /512-byte sectors/],
      ['empty.raw', Buffer.alloc(0), /empty/],
      ['cut.qcow2', Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]), /truncated/],
    ];
    const vmdk = join(dir, 'a.vmdk');
    qemuImg('create', '-f', 'vmdk', vmdk, '1M');
    await expect(readImageHeader(vmdk)).rejects.toThrow(/vmdk file/);
    for (const [name, bytes, message] of cases) {
      const f = join(dir, name);
      writeFileSync(f, bytes);
      await expect(readImageHeader(f), name).rejects.toThrow(message);
    }
  });
});
