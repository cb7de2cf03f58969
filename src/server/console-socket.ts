import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { isServiceError, type ServiceErrorCode } from '../services/errors.ts';
import type { ConsoleEnd, ConsoleTap } from '../services/vms/console-hub.ts';

/** CONSOLE_PATH is where interactive consoles are served: `/console?ticket=<ticket>`. */
export const CONSOLE_PATH = '/console';

/** ConsoleEndpoint redeems console tickets (services/vms/vm-console.ts connect). */
export interface ConsoleEndpoint {
  connect(ticket: string): Promise<{ readonly tap: ConsoleTap }>;
}

// How each end of a console shows to the client, as a WebSocket close code and reason.
const CLOSES: Record<Exclude<ConsoleEnd, 'CLOSED'>, [number, string]> = {
  ENDED: [1000, 'the console closed'],
  REVOKED: [4403, 'you may no longer use this console'],
  TOO_SLOW: [4408, 'the console output was not read in time'],
};

const STATUS: Partial<Record<ServiceErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  UNAVAILABLE: 503,
};

const PING_MS = 30_000;
const MAX_INPUT_BYTES = 64 * 1024;

/**
 * serveConsoles runs interactive serial consoles over WebSocket: the guest's output arrives as
 * binary messages, and whatever the client sends (binary or text) is typed into the console.
 * The ticket is checked before the upgrade, so a refused client gets a plain HTTP status.
 */
export function serveConsoles(endpoint: ConsoleEndpoint) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_INPUT_BYTES });
  const alive = new WeakSet<WebSocket>();
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) ws.terminate();
      alive.delete(ws);
      ws.ping();
    }
  }, PING_MS);
  pinger.unref();

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ticket = new URL(req.url ?? '/', 'http://kumo').searchParams.get('ticket') ?? '';
    let tap: ConsoleTap;
    try {
      ({ tap } = await endpoint.connect(ticket));
    } catch (err) {
      const status = (isServiceError(err) && STATUS[err.code]) || 500;
      const message = isServiceError(err) ? err.message : 'internal error';
      socket.end(
        `HTTP/1.1 ${status} ${status === 500 ? 'Internal Server Error' : 'Refused'}\r\n` +
          'Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n' +
          `${message}\n`,
      );
      return;
    }
    if (socket.destroyed) {
      tap.end();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, tap));
  };

  const attach = (ws: WebSocket, tap: ConsoleTap) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    pipeOutput(tap, ws);
    ws.on('message', (data: Buffer | Buffer[] | ArrayBuffer) => {
      tap.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    ws.once('close', () => tap.end());
    void tap.ended.then((why) => {
      if (why === 'CLOSED') ws.close(1000);
      else ws.close(...CLOSES[why]);
    });
  };

  return {
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      upgrade(req, socket, head).catch(() => socket.destroy());
    },
    close: () => {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.close(1001, 'the controller is stopping');
      wss.close();
    },
  };
}

// A client that stops reading is dropped once this much waits for it, not buffered forever.
const MAX_UNSENT_BYTES = 1024 * 1024;

function pipeOutput(tap: ConsoleTap, ws: WebSocket): void {
  tap.output.on('data', (chunk: Buffer) => {
    if (ws.bufferedAmount > MAX_UNSENT_BYTES) tap.end('TOO_SLOW');
    else ws.send(chunk, { binary: true });
  });
}
