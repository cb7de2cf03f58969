// Builds the web console (clients/web) into clients/web/dist, which is committed so a server
// serves it with no build step; with --check, builds into a scratch folder and fails when the
// committed build differs from what the sources give.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const web = fileURLToPath(new URL('../clients/web/', import.meta.url));
const committed = join(web, 'dist');
const check = process.argv.includes('--check');
const outDir = check ? mkdtempSync(join(tmpdir(), 'kumo-web-')) : committed;

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), readFileSync(path));
  }
  return out;
}

try {
  await build({ configFile: join(web, 'vite.config.ts'), build: { outDir } });
  if (check) {
    const want = files(outDir);
    const have = files(committed);
    const same = (f: string) => {
      const [a, b] = [want.get(f), have.get(f)];
      return a !== undefined && b !== undefined && a.equals(b);
    };
    const stale = [...new Set([...want.keys(), ...have.keys()])].filter((f) => !same(f));
    for (const f of stale) console.error(`clients/web/dist/${f} is stale: run npm run web:build`);
    if (stale.length > 0) process.exitCode = 1;
  }
} finally {
  if (check) rmSync(outDir, { recursive: true, force: true });
}
