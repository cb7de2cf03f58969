// The images against real readers: isoinfo (genisoimage's reader), blkid (what udev, findfs and
// cloud-init use to find LABEL=cidata), and an image genisoimage makes from the same files.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../../test/rig/processes.ts';
import { ensureSeedTools } from '../../../../test/support/seed-tools.ts';
import { writeIso } from './iso9660.ts';
import { nocloudSeed } from './nocloud.ts';

const FILES = {
  'meta-data': 'instance-id: "i-0123"\nlocal-hostname: "vm-1"\n',
  'user-data': '#!/bin/sh\necho hello\n',
  'network-config': `version: 2\n${'# padding\n'.repeat(400)}`,
} as const;
const KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIL0OJg60VMFshXJ7rVxIRO0evk9daypqPHn3mf/c8nN alice@example';

let dir = '';
let ours = '';
let theirs = '';

const isoinfo = (...args: string[]) => run('isoinfo', args);
// -p probes the file itself rather than the blkid cache; udev runs the same probe.
const blkid = (file: string) => run('blkid', ['-p', '-o', 'export', file]);
// `-o export` prints TAG=value lines with shell escapes ("Joliet\ Extension").
function exported(out: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) tags.set(line.slice(0, eq), line.slice(eq + 1).replace(/\\(.)/g, '$1'));
  }
  return tags;
}

beforeAll(async () => {
  await ensureSeedTools();
  dir = await mkdtemp(join(tmpdir(), 'kumo-iso-'));
  const files = Object.entries(FILES).map(([name, data]) => ({ name, data: Buffer.from(data) }));
  ours = join(dir, 'ours.iso');
  await writeFile(ours, writeIso({ volumeId: 'cidata', files }));
  const src = join(dir, 'src');
  await run('mkdir', [src]);
  for (const f of files) await writeFile(join(src, f.name), f.data);
  theirs = join(dir, 'genisoimage.iso');
  await run('genisoimage', [
    '-quiet',
    '-J',
    '-V',
    'cidata',
    '-o',
    theirs,
    ...files.map((f) => join(src, f.name)),
  ]);
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// "----------   0    0    0     17 Jan  2 2026 [     26 00]  user-data " -> "user-data 17"
const listing = (out: string): string[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('-'))
    .map((l) => {
      const cols = l.trim().split(/\s+/);
      return `${cols.at(-1)} ${cols[4]}`;
    })
    .sort();

describe('ISO images read by real tools', () => {
  it('isoinfo -d sees the volume id and Joliet level 3', async () => {
    const info = await isoinfo('-d', '-i', ours);
    expect(info).toContain('CD-ROM is in ISO 9660 format');
    expect(info).toMatch(/^Volume id: cidata$/m);
    expect(info).toMatch(/^Logical block size is: 2048$/m);
    expect(info).toContain('Joliet with UCS level 3 found');
    const theirInfo = await isoinfo('-d', '-i', theirs);
    expect(theirInfo).toMatch(/^Volume id: cidata$/m);
  });

  it('lists the same names and sizes as genisoimage, in both trees', async () => {
    const joliet = listing(await isoinfo('-J', '-l', '-i', ours));
    expect(joliet).toEqual(
      Object.entries(FILES)
        .map(([name, data]) => `${name} ${Buffer.byteLength(data)}`)
        .sort(),
    );
    expect(joliet).toEqual(listing(await isoinfo('-J', '-l', '-i', theirs)));
    const primary = listing(await isoinfo('-l', '-i', ours));
    expect(primary.map((l) => l.split(' ')[0])).toEqual([
      'META_DAT.;1',
      'NETWORK_.;1',
      'USER_DAT.;1',
    ]);
    expect(primary).toEqual(listing(await isoinfo('-l', '-i', theirs)));
  });

  it('isoinfo extracts every file by its Joliet and its primary name', async () => {
    for (const [name, data] of Object.entries(FILES)) {
      expect(await isoinfo('-J', '-x', `/${name}`, '-i', ours)).toBe(data);
    }
    expect(await isoinfo('-x', '/NETWORK_.;1', '-i', ours)).toBe(FILES['network-config']);
  });

  it('blkid reports TYPE=iso9660 and LABEL=cidata, as for genisoimage -J -V cidata', async () => {
    const mine = exported(await blkid(ours));
    const reference = exported(await blkid(theirs));
    expect(mine.get('TYPE')).toBe('iso9660');
    expect(mine.get('LABEL')).toBe('cidata');
    expect(mine.get('BLOCK_SIZE')).toBe('2048');
    expect(mine.get('VERSION')).toBe('Joliet Extension');
    for (const tag of ['TYPE', 'LABEL', 'BLOCK_SIZE', 'VERSION', 'USAGE']) {
      expect(mine.get(tag), tag).toBe(reference.get(tag));
    }
    // The lookup NoCloud does: a device whose label is cidata.
    expect((await run('blkid', ['-t', 'LABEL=cidata', '-o', 'device', ours])).trim()).toBe(ours);
  });

  it('keeps LABEL=cidata for readers that ignore the Joliet descriptor', async () => {
    // libblkid before its Joliet support took the label from the primary descriptor alone;
    // turning the Joliet descriptor into a boot record makes today's blkid do the same.
    const image = Buffer.from(await readFile(ours));
    image[17 * 2048] = 0;
    const hidden = join(dir, 'no-joliet.iso');
    await writeFile(hidden, image);
    const tags = exported(await blkid(hidden));
    expect(tags.get('VERSION')).toBeUndefined();
    expect(tags.get('LABEL')).toBe('cidata');
  });

  it('round-trips a NoCloud seed', async () => {
    const seed = join(dir, 'seed.iso');
    await writeFile(
      seed,
      nocloudSeed({ instanceId: 'i-0123', hostname: 'VM-1', sshKeys: [`  ${KEY}  `] }),
    );
    expect(await isoinfo('-J', '-x', '/meta-data', '-i', seed)).toBe(
      `instance-id: "i-0123"\nlocal-hostname: "vm-1"\npublic-keys:\n  - "${KEY}"\n`,
    );
    expect(await isoinfo('-J', '-x', '/user-data', '-i', seed)).toBe(
      `#cloud-config\nssh_authorized_keys:\n  - "${KEY}"\n`,
    );
    expect(exported(await blkid(seed)).get('LABEL')).toBe('cidata');
  });
});
