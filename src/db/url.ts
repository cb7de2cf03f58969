import path from 'node:path';

/** DIALECTS are the databases Kumo runs on. */
export const DIALECTS = ['sqlite', 'postgresql'] as const;
/** Dialect is one of DIALECTS. */
export type Dialect = (typeof DIALECTS)[number];

/** DatabaseTarget is a parsed `database.url`: which dialect, and where. */
export type DatabaseTarget =
  | { readonly dialect: 'sqlite'; readonly path: string }
  | { readonly dialect: 'postgresql'; readonly url: string };

/**
 * parseDatabaseUrl reads `database.url`: `sqlite:<path>` (relative to dataDir unless absolute;
 * `sqlite::memory:` for a private in-memory database) or `postgres://` / `postgresql://`.
 */
export function parseDatabaseUrl(url: string, dataDir: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '')
      throw new Error('database.url `sqlite:` names no file, e.g. sqlite:kumo.sqlite');
    if (file === ':memory:') return { dialect: 'sqlite', path: file };
    return { dialect: 'sqlite', path: path.resolve(dataDir, file) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error('database.url is not a valid postgres:// URL');
    }
    if (parsed.pathname.length <= 1) {
      throw new Error('database.url names no database, e.g. postgres://user:pass@host:5432/kumo');
    }
    return { dialect: 'postgresql', url };
  }
  // Never echo the URL: it may carry a password.
  throw new Error('database.url must start with sqlite: or postgres://');
}
