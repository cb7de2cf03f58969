// Test support: the real tools the cloud-init tests check against. isoinfo and genisoimage
// (genisoimage), blkid (util-linux), and PyYAML (python3-yaml), the parser cloud-init itself
// uses; nothing in node_modules parses YAML, and this is the reader that matters.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withRigLock } from '../rig/lock.ts';
import { run } from '../rig/processes.ts';
import { ensureDebianPackages } from './debian.ts';

const PACKAGES = ['genisoimage', 'util-linux', 'python3-minimal', 'python3-yaml'];

// Test files run in parallel processes, and two apt-gets at once fail on dpkg's lock.
const LOCK_DIR = join(tmpdir(), 'kumo-cloud-init-tools');

// Debian's interpreter, not whatever python3 is first on PATH: python3-yaml belongs to it.
const PYTHON = '/usr/bin/python3';
const LOAD =
  'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding="utf-8"))))';

/** ensureSeedTools installs the tools above when missing, one test process at a time. */
export function ensureSeedTools(): Promise<void> {
  return withRigLock(LOCK_DIR, () => ensureDebianPackages(PACKAGES));
}

/** pyYamlLoad returns what yaml.safe_load makes of text, through JSON. */
export async function pyYamlLoad(text: string): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'kumo-yaml-'));
  try {
    const file = join(dir, 'doc.yaml');
    await writeFile(file, text, 'utf8');
    return JSON.parse(await run(PYTHON, ['-c', LOAD, file]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
