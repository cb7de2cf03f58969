import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DriverFactory, HypervisorDriver } from './driver.ts';
import { DriverError } from './errors.ts';
import { DRIVER_KIT } from './kit.ts';

/**
 * importDriverPackage imports a driver package and returns the drivers its factory makes,
 * checked for shape. `name` is a package name (resolved from Kumo's own node_modules) or a path
 * or file: URL of a package directory (its package.json names the entry) or of a module.
 */
export async function importDriverPackage(name: string): Promise<HypervisorDriver[]> {
  const fail = (what: string, cause?: unknown) =>
    new DriverError('DRIVER_LOAD_FAILED', `driver package ${name}: ${what}`, { cause });
  let mod: Record<string, unknown>;
  try {
    mod = (await import(await specifier(name))) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof DriverError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ERR_MODULE_NOT_FOUND' || code === 'ENOENT'
        ? 'not found (install it next to Kumo, or give the path of its directory)'
        : `cannot be imported: ${err instanceof Error ? err.message : String(err)}`;
    throw fail(why, err);
  }
  const factory = mod.createDriver ?? mod.default;
  if (typeof factory !== 'function') {
    throw fail('exports no driver factory (a function named createDriver, or a default export)');
  }
  let made: unknown;
  try {
    made = (factory as DriverFactory)(DRIVER_KIT);
  } catch (err) {
    throw fail(
      `its driver factory threw: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
  const drivers = Array.isArray(made) ? (made as unknown[]) : [made];
  if (drivers.length === 0) throw fail('its driver factory returned no driver');
  return drivers.map((d, i) => {
    const problem = shapeProblem(d);
    if (problem) throw fail(`driver ${i + 1} it returned ${problem}`);
    return d as HypervisorDriver;
  });
}

// Checked at load time so that a broken package fails at startup, not at the first hostAdd.
function shapeProblem(d: unknown): string | null {
  if (typeof d !== 'object' || d === null) return 'is not an object';
  const o = d as Record<string, unknown>;
  if (typeof o.name !== 'string' || o.name === '') return 'has no name';
  const schemes = o.schemes;
  if (!Array.isArray(schemes) || schemes.length === 0) return 'declares no schemes';
  if (!schemes.every((s) => typeof s === 'string' && /^[a-z][a-z0-9]*(\+[a-z0-9]+)?$/i.test(s))) {
    return 'declares a scheme that is not of the form driver[+transport]';
  }
  if (!(o.capabilities instanceof Set)) return 'declares its capabilities other than as a Set';
  if (!Array.isArray(o.credentialKinds)) return 'declares no credentialKinds';
  for (const m of ['validate', 'connect']) {
    if (typeof o[m] !== 'function') return `has no ${m} method`;
  }
  return null;
}

async function specifier(name: string): Promise<string> {
  const local = name.startsWith('file:') || name.startsWith('.') || isAbsolute(name);
  if (!local) return name;
  const path = name.startsWith('file:') ? fileURLToPath(name) : resolve(name);
  if (!(await stat(path)).isDirectory()) return pathToFileURL(path).href;
  return pathToFileURL(join(path, await entryOf(path))).href;
}

// The entry of a package directory, as Node would pick it for `import`: exports, then main.
async function entryOf(dir: string): Promise<string> {
  let pkg: { exports?: unknown; main?: unknown };
  try {
    pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch (err) {
    throw new DriverError(
      'DRIVER_LOAD_FAILED',
      `driver package ${dir}: no readable package.json (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      { cause: err },
    );
  }
  const root = exportsRoot(pkg.exports);
  if (root) return root;
  return typeof pkg.main === 'string' ? pkg.main : 'index.js';
}

function exportsRoot(exports: unknown): string | null {
  if (typeof exports === 'string') return exports;
  if (typeof exports !== 'object' || exports === null) return null;
  const rec = exports as Record<string, unknown>;
  const dot = '.' in rec ? rec['.'] : rec;
  if (typeof dot === 'string') return dot;
  if (typeof dot !== 'object' || dot === null) return null;
  const conds = dot as Record<string, unknown>;
  for (const c of ['import', 'node', 'default']) {
    if (typeof conds[c] === 'string') return conds[c] as string;
  }
  return null;
}
