import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** WEB_ASSETS is the URL prefix of the web console's built files (names carry content hashes). */
export const WEB_ASSETS = '/assets/';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

// The page runs only its own scripts, talks only to this origin (HTTP and WebSocket), and
// cannot be framed by another site. Styles may be inline: the terminal (xterm.js) writes its
// theme into a style element; scripts never may.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data: blob:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** WebConsole is the web console's build, held in memory: a few hundred KiB. */
export interface WebConsole {
  readonly page: Buffer;
  readonly assets: ReadonlyMap<string, Asset>;
}

/**
 * webConsoleBuild reads the web console's build, by default the committed one (clients/web/dist,
 * written by `npm run web:build`): index.html and every file under assets/. Null when there is
 * none.
 */
export function webConsoleBuild(
  dir = fileURLToPath(new URL('../../clients/web/dist', import.meta.url)),
): WebConsole | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  const assetDir = join(dir, WEB_ASSETS);
  for (const entry of readdirSync(assetDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    assets.set(relative(assetDir, path), { type, body: readFileSync(path) });
  }
  return { page: readFileSync(join(dir, 'index.html')), assets };
}

/**
 * isPageRequest says whether a request not otherwise routed is a browser asking for one of
 * the console's pages (`/`, `/vms/...`): the page is served and it shows the path itself.
 */
export function isPageRequest(req: IncomingMessage, path: string): boolean {
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    (path.startsWith(WEB_ASSETS) || (req.headers.accept ?? '').includes('text/html'))
  );
}

/** serveWebConsole answers a page request: a built file by its name, else the page. */
export function serveWebConsole(res: ServerResponse, web: WebConsole, path: string): void {
  if (path.startsWith(WEB_ASSETS)) {
    const asset = web.assets.get(path.slice(WEB_ASSETS.length));
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': asset.type,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
    res.end(asset.body);
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES['.html'],
    'cache-control': 'no-cache',
    ...PAGE_HEADERS,
  });
  res.end(web.page);
}
