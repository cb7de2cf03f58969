import type { WebSocket } from 'ws';
import type { ConsoleEnd, ConsoleTap } from '../services/vms/console-hub.ts';
import { serveTicketed } from './ticketed-socket.ts';

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

const MAX_INPUT_BYTES = 64 * 1024;

/**
 * serveConsoles runs interactive serial consoles over WebSocket: the guest's output arrives as
 * binary messages, and whatever the client sends (binary or text) is typed into the console.
 */
export function serveConsoles(endpoint: ConsoleEndpoint) {
  return serveTicketed<ConsoleTap>(MAX_INPUT_BYTES, {
    redeem: async (ticket) => (await endpoint.connect(ticket)).tap,
    release: (tap) => tap.end(),
    attach: (ws, tap) => {
      pipeOutput(tap, ws);
      ws.on('message', (data: Buffer | Buffer[] | ArrayBuffer) => {
        tap.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
      });
      ws.once('close', () => tap.end());
      void tap.ended.then((why) => {
        if (why === 'CLOSED') ws.close(1000);
        else ws.close(...CLOSES[why]);
      });
    },
  });
}

// A client that stops reading is dropped once this much waits for it, not buffered forever.
const MAX_UNSENT_BYTES = 1024 * 1024;

function pipeOutput(tap: ConsoleTap, ws: WebSocket): void {
  tap.output.on('data', (chunk: Buffer) => {
    if (ws.bufferedAmount > MAX_UNSENT_BYTES) tap.end('TOO_SLOW');
    else ws.send(chunk, { binary: true });
  });
}
