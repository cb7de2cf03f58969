/**
 * generate reads the .x files and returns the generated modules' source, formatted with the
 * repository's biome configuration. Pure apart from reading the spec files and running biome.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MODULES } from './config.ts';
import { emitModule } from './emit.ts';
import { externalValues } from './externals.ts';
import { parseProtocol } from './parser.ts';
import type { Module } from './scope.ts';

/** The output directory, relative to the repository root. */
export const OUTPUT_DIR = 'src/libvirt/generated';

/** emitAll parses the four .x files in specDir and returns unformatted sources by file name. */
export function emitAll(specDir: string): Map<string, string> {
  const modules = new Map<string, Module>();
  for (const config of MODULES) {
    const src = readFileSync(path.join(specDir, config.source), 'utf8');
    const spec = parseProtocol(src, { file: config.source, known: externalValues() });
    modules.set(config.outFile, { config, spec });
  }
  const out = new Map<string, string>();
  for (const m of modules.values()) {
    const deps = m.config.deps.map((d) => {
      const dep = modules.get(d);
      if (dep === undefined) throw new Error(`${m.config.outFile}: unknown dependency ${d}`);
      return dep;
    });
    out.set(m.config.outFile, emitModule(m, deps));
  }
  return out;
}

/**
 * format runs `biome check --write` on a source as if it were at repoPath (so the repository's
 * configuration applies): formatting plus import sorting. Lint rules are off in generated files.
 */
export function format(repoRoot: string, repoPath: string, source: string): string {
  const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');
  const res = spawnSync(biome, ['check', '--write', `--stdin-file-path=${repoPath}`], {
    cwd: repoRoot,
    input: source,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.error !== undefined) throw new Error(`cannot run ${biome}: ${res.error.message}`);
  if (res.status !== 0 || res.stdout === '') {
    throw new Error(
      `biome failed on ${repoPath} (exit ${res.status}):\n${res.stderr}${res.stdout}`,
    );
  }
  return res.stdout;
}

/** generate returns the formatted generated files, keyed by their path relative to repoRoot. */
export function generate(repoRoot: string, specDir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, src] of emitAll(specDir)) {
    const rel = `${OUTPUT_DIR}/${file}`;
    out.set(rel, format(repoRoot, rel, src));
  }
  return out;
}
