// Builds the web console (clients/web) into clients/web/dist, which is committed so a server
// serves it with no build step; with --check, builds into a scratch folder and fails when what
// the controller would serve from the committed build differs from what the sources give.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { webConsoleBuild } from '../src/server/web-console.ts';

const web = fileURLToPath(new URL('../clients/web/', import.meta.url));
const committed = join(web, 'dist');
const check = process.argv.includes('--check');
const outDir = check ? mkdtempSync(join(tmpdir(), 'kumo-web-')) : committed;

try {
  await build({ configFile: join(web, 'vite.config.ts'), build: { outDir } });
  if (check) {
    const want = webConsoleBuild(outDir);
    const have = webConsoleBuild(committed);
    const stale = new Set<string>();
    if (!want || !have || !want.page.equals(have.page)) stale.add('index.html');
    const [wanted, had] = [want?.assets ?? new Map(), have?.assets ?? new Map()];
    for (const name of new Set([...wanted.keys(), ...had.keys()])) {
      const [a, b] = [wanted.get(name), had.get(name)];
      if (!a || !b || !a.body.equals(b.body)) stale.add(`assets/${name}`);
    }
    for (const f of stale) console.error(`clients/web/dist/${f} is stale: run npm run web:build`);
    if (stale.size > 0) process.exitCode = 1;
  }
} finally {
  if (check) rmSync(outDir, { recursive: true, force: true });
}
