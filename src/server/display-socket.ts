import { createWebSocketStream, type WebSocket } from 'ws';
import type { DisplayLink } from '../services/vms/vm-console.ts';
import { rfbGreet } from '../vnc/rfb.ts';
import { serveTicketed } from './ticketed-socket.ts';

/** DISPLAY_PATH is where graphical consoles are served: `/display?ticket=<ticket>`. */
export const DISPLAY_PATH = '/display';

/** DisplayEndpoint redeems display tickets (services/vms/vm-console.ts display). */
export interface DisplayEndpoint {
  display(ticket: string): Promise<DisplayLink>;
}

// A browser's messages are keys, pointer moves and clipboard text.
const MAX_INPUT_BYTES = 1024 * 1024;
// The client must finish its side of the opening in this time.
const GREETING_MS = 10_000;

/**
 * serveDisplays runs graphical consoles over WebSocket, as noVNC and websockify expect: binary
 * messages carrying RFB. The controller has logged in to the VM's display already; the client
 * is greeted as by a server that asks no password, and from its ClientInit on every byte passes
 * both ways untouched.
 */
export function serveDisplays(endpoint: DisplayEndpoint) {
  return serveTicketed<DisplayLink>(MAX_INPUT_BYTES, {
    redeem: (ticket) => endpoint.display(ticket),
    release: (link) => link.vnc.destroy(),
    attach,
  });
}

function attach(ws: WebSocket, { vnc, revoked }: DisplayLink): void {
  const client = createWebSocketStream(ws);
  // Errors end the session (below); the stream must not throw them at nobody.
  client.on('error', () => undefined);
  vnc.on('error', () => undefined);
  let ended = false;
  const end = (code: number, reason: string) => {
    if (ended) return;
    ended = true;
    vnc.destroy();
    ws.close(code, reason);
  };
  ws.once('close', () => end(1000, ''));
  vnc.once('close', () => end(1000, 'the display closed'));
  void revoked.then(() => end(4403, 'you may no longer use this console'));

  const timer = setTimeout(() => end(4408, 'the RFB opening took too long'), GREETING_MS);
  rfbGreet(client).then(
    () => {
      clearTimeout(timer);
      client.pipe(vnc);
      // The display's end is told with a code and reason (below), not as a bare close.
      vnc.pipe(client, { end: false });
    },
    (err: unknown) => {
      clearTimeout(timer);
      end(4400, err instanceof Error ? err.message.slice(0, 120) : 'bad RFB opening');
    },
  );
}
