/**
 * lvgen: generates typed TypeScript codecs and RPC stubs from libvirt's XDR protocol files.
 *
 *   node scripts/lvgen/main.ts [--check] [specDir]
 *
 * specDir defaults to $KUMO_LIBVIRT_SPEC, else <repo>/../shared/spec/libvirt. It must hold
 * remote_protocol.x, qemu_protocol.x, virkeepaliveprotocol.x and virnetprotocol.x. Output goes
 * to src/libvirt/generated/. With --check nothing in the repository is written: the code is
 * regenerated into a temporary directory and compared with the committed files; any
 * difference exits 1 ("generated code is stale: run npm run gen").
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate, OUTPUT_DIR } from './generate.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

function usage(msg: string): never {
  process.stderr.write(`lvgen: ${msg}\nusage: node scripts/lvgen/main.ts [--check] [specDir]\n`);
  process.exit(2);
}

function main(argv: readonly string[]): number {
  let check = false;
  let specArg: string | undefined;
  for (const a of argv) {
    if (a === '--check') check = true;
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else if (specArg === undefined) specArg = a;
    else usage('more than one spec directory');
  }
  const envSpec = process.env.KUMO_LIBVIRT_SPEC;
  const specDir = path.resolve(
    specArg ??
      (envSpec !== undefined && envSpec !== ''
        ? envSpec
        : path.join(repoRoot, '..', 'shared', 'spec', 'libvirt')),
  );
  if (!existsSync(specDir)) usage(`spec directory ${specDir} does not exist`);

  const files = generate(repoRoot, specDir);

  if (!check) {
    mkdirSync(path.join(repoRoot, OUTPUT_DIR), { recursive: true });
    for (const [rel, src] of files) {
      writeFileSync(path.join(repoRoot, rel), src);
      process.stdout.write(`wrote ${rel}\n`);
    }
    return 0;
  }

  const tmp = mkdtempSync(path.join(tmpdir(), 'lvgen-'));
  try {
    const stale: string[] = [];
    for (const [rel, src] of files) {
      const fresh = path.join(tmp, path.basename(rel));
      writeFileSync(fresh, src);
      const committed = path.join(repoRoot, rel);
      const current = existsSync(committed) ? readFileSync(committed) : null;
      if (current === null) stale.push(`${rel} (missing)`);
      else if (!current.equals(readFileSync(fresh))) stale.push(rel);
    }
    if (stale.length > 0) {
      process.stderr.write(
        `generated code is stale: run npm run gen\n${stale.map((s) => `  ${s}\n`).join('')}`,
      );
      return 1;
    }
    process.stdout.write(`generated code is up to date (${files.size} files)\n`);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
