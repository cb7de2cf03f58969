import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Route answers one path of a FileServer. */
export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** FileServer is a web server on loopback that tests import images from. */
export interface FileServer {
  /** base is `http://127.0.0.1:<port>`. */
  readonly base: string;
  /** route adds or replaces the answer for a path. */
  route(path: string, answer: Route): void;
  close(): Promise<void>;
}

/** bytes answers with a body and its length. */
export function bytes(body: Buffer): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  };
}

/** slowly answers with a body a MiB at a time, over about four seconds: progress to watch. */
export function slowly(body: Buffer): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    let at = 0;
    const next = () => {
      if (res.destroyed) return;
      const piece = body.subarray(at, at + (1 << 20));
      at += piece.length;
      if (piece.length === 0) res.end();
      else res.write(piece, () => setTimeout(next, 4000 / Math.ceil(body.length / (1 << 20))));
    };
    next();
  };
}

/** serveFiles starts a FileServer on 127.0.0.1 (allow-list it in the controller under test). */
export async function serveFiles(): Promise<FileServer> {
  const routes = new Map<string, Route>();
  const server = createServer((req, res) => {
    const answer = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (answer) answer(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    route: (path, answer) => routes.set(path, answer),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
