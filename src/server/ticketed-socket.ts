import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { isServiceError, type ServiceErrorCode } from '../services/errors.ts';

// What the console endpoints share: their tickets are redeemed before the upgrade, so a refused
// client gets a plain HTTP status, and their clients are dropped when they stop answering pings.

const STATUS: Partial<Record<ServiceErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  UNAVAILABLE: 503,
};

const PING_MS = 30_000;

/** refuseUpgrade answers an upgrade that may not go ahead with the error's status and message. */
function refuseUpgrade(socket: Duplex, err: unknown): void {
  const status = (isServiceError(err) && STATUS[err.code]) || 500;
  const message = isServiceError(err) ? err.message : 'internal error';
  socket.end(
    `HTTP/1.1 ${status} ${status === 500 ? 'Internal Server Error' : 'Refused'}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n' +
      `${message}\n`,
  );
}

/** pingClients drops the server's clients that stop answering pings; returns what stops it. */
function pingClients(wss: WebSocketServer): () => void {
  const alive = new WeakSet<WebSocket>();
  wss.on('connection', (ws: WebSocket) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
  });
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) ws.terminate();
      alive.delete(ws);
      ws.ping();
    }
  }, PING_MS);
  pinger.unref();
  return () => clearInterval(pinger);
}

/** Ticketed says how an endpoint redeems the ticket of an upgrade and serves what it opened. */
export interface Ticketed<T> {
  redeem(ticket: string): Promise<T>;
  /** release lets go of what was opened for a client that left before the upgrade. */
  release(opened: T): void;
  attach(ws: WebSocket, opened: T): void;
}

/**
 * upgradeWithTicket redeems the `ticket` of the request's URL before upgrading, refusing with
 * an HTTP status what may not be opened; the client is then served by `endpoint.attach`.
 */
function upgradeWithTicket<T>(
  wss: WebSocketServer,
  endpoint: Ticketed<T>,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const ticket = new URL(req.url ?? '/', 'http://kumo').searchParams.get('ticket') ?? '';
  endpoint.redeem(ticket).then(
    (opened) => {
      if (socket.destroyed) {
        endpoint.release(opened);
        return;
      }
      // ws drops a handshake it finds malformed without calling back: let go of what was opened.
      let attached = false;
      socket.once('close', () => {
        if (!attached) endpoint.release(opened);
      });
      wss.handleUpgrade(req, socket, head, (ws) => {
        attached = true;
        wss.emit('connection', ws, req);
        endpoint.attach(ws, opened);
      });
    },
    (err: unknown) => refuseUpgrade(socket, err),
  );
}

/**
 * serveTicketed is a WebSocket endpoint whose clients come with a ticket: `upgrade` takes the
 * HTTP server's upgrades for its path, `close` tells every client the controller is stopping.
 */
export function serveTicketed<T>(maxPayload: number, endpoint: Ticketed<T>) {
  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const stopPings = pingClients(wss);
  return {
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      upgradeWithTicket(wss, endpoint, req, socket, head),
    close: () => {
      stopPings();
      for (const ws of wss.clients) ws.close(1001, 'the controller is stopping');
      wss.close();
    },
  };
}
