import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../rig/processes.ts';
import { ensureDebianPackages } from '../support/debian.ts';

/** SeedSpec is what a NoCloud seed tells the test guest. */
export interface SeedSpec {
  readonly instanceId?: string;
  readonly hostname?: string;
  readonly publicKeys?: readonly string[];
  /** userData runs at boot when it starts with `#!`. */
  readonly userData?: string;
}

/**
 * metaDataYaml writes meta-data in the shape the controller writes and the guest reads: one key
 * a line, values as YAML double-quoted strings (a JSON string is one), keys as a list.
 */
export function metaDataYaml(spec: SeedSpec): string {
  const lines: string[] = [];
  if (spec.instanceId !== undefined) lines.push(`instance-id: ${JSON.stringify(spec.instanceId)}`);
  if (spec.hostname !== undefined) lines.push(`local-hostname: ${JSON.stringify(spec.hostname)}`);
  if (spec.publicKeys?.length) {
    lines.push('public-keys:');
    for (const k of spec.publicKeys) lines.push(`  - ${JSON.stringify(k)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * seedIso builds a NoCloud seed ISO (ISO9660 with Joliet, volume label `cidata`) with
 * genisoimage. This is the tests' own seed; the controller writes its own.
 */
export async function seedIso(spec: SeedSpec): Promise<Buffer> {
  await ensureDebianPackages(['genisoimage']);
  const dir = await mkdtemp(path.join(tmpdir(), 'kumo-seed-'));
  try {
    const files = path.join(dir, 'files');
    await mkdir(files);
    await writeFile(path.join(files, 'meta-data'), metaDataYaml(spec));
    await writeFile(path.join(files, 'user-data'), spec.userData ?? '');
    const iso = path.join(dir, 'seed.iso');
    await run('genisoimage', ['-quiet', '-J', '-V', 'cidata', '-o', iso, files]);
    return await readFile(iso);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
