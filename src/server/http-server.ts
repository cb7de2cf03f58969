import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import type { Config } from '../config/config.ts';
import type { Rounds } from '../services/rounds.ts';
import { CONSOLE_PATH, type ConsoleEndpoint, serveConsoles } from './console-socket.ts';
import { type ContextFactory, type RequestInfo, requestInfo } from './context.ts';
import { DISPLAY_PATH, type DisplayEndpoint, serveDisplays } from './display-socket.ts';
import { ServerMetrics } from './metrics.ts';
import { originAllowed } from './origin.ts';
import { type PublishedLists, servePublished } from './published-lists.ts';
import type { ViewerOf } from './shared-executions.ts';
import { parseMultipart, UploadError, type UploadLimits } from './uploads.ts';
import { isPageRequest, serveWebConsole, type WebConsole } from './web-console.ts';
import { serveSubscriptions } from './websocket.ts';
import { createKumoYoga, GRAPHQL_PATH } from './yoga.ts';

/** GRAPHIQL_ASSETS is the URL prefix under which the GraphiQL bundle is served. */
export const GRAPHIQL_ASSETS = '/graphiql-assets';

// The only files served from the GraphiQL bundle directory: no path ever comes from the URL.
const GRAPHIQL_FILES: Record<string, string> = {
  '/graphiql.css': 'text/css',
  '/yoga-graphiql.umd.js': 'text/javascript',
  '/monacoeditorwork/editor.worker.bundle.js': 'text/javascript',
  '/monacoeditorwork/json.worker.bundle.js': 'text/javascript',
  '/monacoeditorwork/graphql.worker..bundle.js': 'text/javascript',
};

/** HealthReport is what /healthz answers; `ok` false answers 503. */
export interface HealthReport {
  readonly ok: boolean;
  readonly checks: Record<string, string>;
}

/** ServerOptions assemble the controller's HTTP and WebSocket server. */
export interface ServerOptions<C extends object> {
  readonly config: Pick<Config, 'listen' | 'graphql' | 'publicUrl'>;
  readonly schema: GraphQLSchema;
  readonly context: ContextFactory<C>;
  readonly health: () => Promise<HealthReport>;
  /** graphiqlDir holds the GraphiQL bundle (see scripts/setup), or null to serve none. */
  readonly graphiqlDir: string | null;
  /** webConsole is the web console's build, served at `/` (see web-console.ts), or null. */
  readonly webConsole: WebConsole | null;
  /**
   * uploads accepts GraphQL multipart requests (files spooled into `limits.dir`) from callers
   * `allowed` says are signed in; without it multipart requests are refused like any large body.
   */
  readonly uploads?: {
    readonly limits: UploadLimits;
    readonly allowed: (info: RequestInfo) => Promise<boolean>;
  };
  /** consoles serves interactive VM consoles at CONSOLE_PATH; without it none are served. */
  readonly consoles?: ConsoleEndpoint;
  /** displays serves graphical consoles at DISPLAY_PATH; without it none are served. */
  readonly displays?: DisplayEndpoint;
  /** publishedLists serves the image lists the controller publishes, and their files. */
  readonly publishedLists?: PublishedLists;
  /** rounds are the background rounds whose durations /metrics shows. */
  readonly rounds?: Rounds;
  /** viewerOf says whom a context's results are for, so subscriptions can share executions. */
  readonly viewerOf?: ViewerOf;
}

/** KumoServer is a listening server. */
/** DRAIN_MS is how long closing waits for requests being answered. */
const DRAIN_MS = 5000;

export interface KumoServer {
  /** url is the GraphQL endpoint, e.g. http://127.0.0.1:8080/graphql. */
  readonly url: string;
  readonly port: number;
  readonly metrics: ServerMetrics;
  close(): Promise<void>;
}

/**
 * startServer listens on one port for: the GraphQL API over HTTP, GraphiQL, subscriptions over
 * graphql-ws on the same path, interactive consoles, published image lists, /healthz,
 * /metrics, and the web console's pages at every other path a browser asks for. Request
 * bodies above the configured limit are refused before they are read.
 */
export async function startServer<C extends object>(opts: ServerOptions<C>): Promise<KumoServer> {
  const metrics = new ServerMetrics(opts.rounds);
  const yoga = createKumoYoga({
    schema: opts.schema,
    config: opts.config.graphql,
    context: opts.context,
    metrics,
    graphiqlAssets: opts.graphiqlDir ? GRAPHIQL_ASSETS : null,
    ...(opts.viewerOf ? { viewerOf: opts.viewerOf } : {}),
  });
  const limit = opts.config.graphql.bodyLimitBytes;
  // Requests being answered, so that closing lets them finish before the database goes.
  const inFlight = new Set<Promise<void>>();
  const http = createServer((req, res) => {
    const answered = route(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, 'text/plain', 'internal error');
      res.destroy(err instanceof Error ? err : undefined);
    });
    inFlight.add(answered);
    void answered.finally(() => inFlight.delete(answered));
  });
  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://kumo').pathname;
    if (path === '/healthz') {
      const h = await opts.health();
      reply(res, h.ok ? 200 : 503, 'application/json', JSON.stringify(h));
    } else if (path === '/metrics') {
      reply(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
    } else if (path.startsWith(`${GRAPHIQL_ASSETS}/`) && opts.graphiqlDir) {
      serveAsset(res, opts.graphiqlDir, path.slice(GRAPHIQL_ASSETS.length));
    } else if (opts.publishedLists && path.startsWith(`${opts.publishedLists.prefix}/`)) {
      await servePublished(req, res, opts.publishedLists, path);
    } else if (path === GRAPHQL_PATH && isMultipart(req) && opts.uploads) {
      await serveUpload(req, res, opts.uploads);
    } else if (path === GRAPHQL_PATH) {
      if (tooLarge(req, limit)) {
        reply(
          res,
          413,
          'application/json',
          errorBody(`request body over ${limit} bytes`, 'PAYLOAD_TOO_LARGE'),
        );
        req.resume();
        return;
      }
      await yoga.handle(req, res, { info: requestInfo(req) });
    } else if (opts.webConsole && isPageRequest(req, path)) {
      serveWebConsole(res, opts.webConsole, path);
    } else {
      reply(res, 404, 'text/plain', 'not found');
    }
  };

  // A multipart request is read only for a signed-in caller, spooled to disk, then executed
  // as the JSON request it stands for; its files are deleted when it is answered.
  const serveUpload = async (
    req: IncomingMessage,
    res: ServerResponse,
    uploads: NonNullable<ServerOptions<C>['uploads']>,
  ) => {
    const info = requestInfo(req);
    if (req.method !== 'POST' || !(await uploads.allowed(info))) {
      req.resume();
      reply(
        res,
        401,
        'application/json',
        errorBody('sign in first to upload files', 'UNAUTHENTICATED'),
      );
      return;
    }
    let parsed: Awaited<ReturnType<typeof parseMultipart>>;
    try {
      parsed = await parseMultipart(req, uploads.limits);
    } catch (err) {
      if (!(err instanceof UploadError)) throw err;
      reply(res, err.status, 'application/json', errorBody(err.message, 'BAD_REQUEST'));
      return;
    }
    const headers = new Headers();
    for (const name of ['authorization', 'cookie', 'user-agent'] as const) {
      const v = req.headers[name];
      if (typeof v === 'string') headers.set(name, v);
    }
    headers.set('content-type', 'application/json');
    let response: Response;
    let body: Buffer;
    // Spooled files are gone before the answer leaves: a client never sees them linger.
    try {
      response = await yoga.fetch(
        `http://kumo${GRAPHQL_PATH}`,
        { method: 'POST', headers, body: parsed.body },
        { info: { ...info, uploads: parsed.uploads } },
      );
      body = Buffer.from(await response.arrayBuffer());
    } finally {
      await parsed.uploads.discard(parsed.spooled);
    }
    const out: Record<string, string | string[]> = {};
    response.headers.forEach((v, k) => {
      if (k !== 'set-cookie') out[k] = v;
    });
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) out['set-cookie'] = cookies;
    res.writeHead(response.status, out);
    res.end(body);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: limit });
  const disposeWs = serveSubscriptions(wss, yoga, metrics);
  const consoles = opts.consoles ? serveConsoles(opts.consoles) : null;
  const displays = opts.displays ? serveDisplays(opts.displays) : null;
  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://kumo').pathname;
    if (!originAllowed(req, opts.config.publicUrl)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else if (path === GRAPHQL_PATH) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } else if (path === CONSOLE_PATH && consoles) {
      consoles.upgrade(req, socket, head);
    } else if (path === DISPLAY_PATH && displays) {
      displays.upgrade(req, socket, head);
    } else {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.config.listen.port, opts.config.listen.host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  const host = opts.config.listen.host.includes(':')
    ? `[${opts.config.listen.host}]`
    : opts.config.listen.host;
  return {
    url: `http://${host}:${port}${GRAPHQL_PATH}`,
    port,
    metrics,
    close: async () => {
      await disposeWs();
      consoles?.close();
      displays?.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      // No new requests; those being answered get a moment to finish, then every connection goes.
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((resolve) => {
          grace = setTimeout(resolve, DRAIN_MS);
        }),
      ]);
      clearTimeout(grace);
      http.closeAllConnections();
      await closed;
    },
  };
}

function isMultipart(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');
}

function errorBody(message: string, code: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

// A body without a declared length (chunked) could be any size, so it is refused as well.
function tooLarge(req: IncomingMessage, limit: number): boolean {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return false;
  const declared = req.headers['content-length'];
  return declared === undefined || Number(declared) > limit;
}

function serveAsset(res: ServerResponse, dir: string, file: string): void {
  const type = GRAPHIQL_FILES[file];
  if (!type) {
    reply(res, 404, 'text/plain', 'not found');
    return;
  }
  res.writeHead(200, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'public, max-age=86400',
  });
  createReadStream(join(dir, file))
    .on('error', () => res.destroy())
    .pipe(res);
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}
