import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../api/cli-error.ts';

/** Context is one server and who is signed in to it there (like a kubectl context). */
export interface Context {
  readonly server: string;
  readonly token: string | null;
  /** user is the email signed in, for people to read. */
  readonly user: string | null;
}

/** Contexts is the CLI's configuration file: named contexts and the one in use. */
export interface Contexts {
  readonly current: string | null;
  readonly contexts: Readonly<Record<string, Context>>;
}

/** DEFAULT_SERVER is where a fresh `scripts/start` listens. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** configDir is where the CLI keeps its files: KUMO_CONFIG_DIR, else $XDG_CONFIG_HOME/kumo. */
export function configDir(env: NodeJS.ProcessEnv): string {
  if (env.KUMO_CONFIG_DIR) return env.KUMO_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'kumo');
}

const file = (env: NodeJS.ProcessEnv) => join(configDir(env), 'config.json');

/** loadContexts reads the configuration file; a missing file is no contexts yet. */
export async function loadContexts(env: NodeJS.ProcessEnv): Promise<Contexts> {
  let text: string;
  try {
    text = await readFile(file(env), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { current: null, contexts: {} };
    throw new CliError('USAGE', `cannot read ${file(env)}: ${(err as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as Contexts;
    return { current: parsed.current ?? null, contexts: parsed.contexts ?? {} };
  } catch {
    throw new CliError('USAGE', `${file(env)} is not valid JSON`, {
      hint: 'fix it, or remove it and run `kumo login` again',
    });
  }
}

/**
 * saveContexts writes the file readable by its owner only (it holds session tokens), through a
 * temporary file so a crash never leaves half a file.
 */
export async function saveContexts(env: NodeJS.ProcessEnv, contexts: Contexts): Promise<void> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const tmp = `${file(env)}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(contexts, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file(env));
}

/** Selection is the context a command runs in, after flags and environment. */
export interface Selection {
  readonly name: string;
  readonly server: string;
  readonly token: string | null;
}

/**
 * selectContext picks the context: --context, else KUMO_CONTEXT, else the current one, else
 * `default`; then --server or KUMO_SERVER replace its server and KUMO_TOKEN its token.
 */
export function selectContext(
  contexts: Contexts,
  flags: { context?: string | undefined; server?: string | undefined },
  env: NodeJS.ProcessEnv,
): Selection {
  const name = flags.context ?? env.KUMO_CONTEXT ?? contexts.current ?? 'default';
  const saved = contexts.contexts[name];
  if ((flags.context || env.KUMO_CONTEXT) && !saved && !flags.server && !env.KUMO_SERVER)
    throw new CliError('USAGE', `no context named ${name}`, {
      hint: 'see `kumo context ls`, or sign in with `kumo login --context <name>`',
    });
  const server = flags.server ?? env.KUMO_SERVER ?? saved?.server ?? DEFAULT_SERVER;
  const token = env.KUMO_TOKEN || (server === saved?.server ? saved.token : null);
  return { name, server: normalizeServer(server), token: token ?? null };
}

/** normalizeServer checks a server URL and keeps its origin (the API is at /graphql). */
export function normalizeServer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new CliError('USAGE', `not a server URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError('USAGE', `a server URL is http or https, not ${url.protocol}`);
  return url.origin;
}
