import { createServer, type Server, type Socket } from 'node:net';
import { graphql } from '../../graphql/graphql.ts';
import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import { NONE } from '../output/output.ts';
import { resolveRef } from '../resources/refs.ts';
import { interruptible } from '../terminal.ts';
import type { CommandSpec } from './command.ts';

const OPEN = graphql(`mutation VmDisplayOpen($id: ID!) {
  vmDisplayOpen(input: { id: $id }) { console { path expiresAt } userErrors { code field message } } }`);

const DEFAULT_LISTEN = '127.0.0.1:5900';

interface Ticket {
  readonly path: string;
  readonly expiresAt: number;
}

/** The graphical console, for a VNC viewer on this machine. */
export const vmDisplayCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'display'],
    summary:
      'Serve a running VM’s graphical console on a local port for a VNC viewer (`vncviewer 127.0.0.1:5900`), until Ctrl-C. The viewer needs no password: the controller logs in for it, and each viewer gets a ticket of its own.',
    args: [{ name: 'vm', description: 'Name or id', complete: 'vm' }],
    options: [
      {
        name: 'listen',
        value: 'address:port',
        description: `Where viewers connect (${DEFAULT_LISTEN}; port 0 picks a free one)`,
      },
    ],
    async run(ctx, input) {
      const api = ctx.api();
      const name = input.arg('vm');
      const { host, port } = parseListen(input.option('listen') ?? DEFAULT_LISTEN);
      const id = await resolveRef(api, 'vm', name);
      const open = async (): Promise<Ticket> => {
        const { console } = await api.mutate(OPEN, { id }, 'vmDisplayOpen');
        if (!console) throw new CliError('REFUSED', 'the server gave no display ticket');
        return { path: console.path, expiresAt: Date.parse(console.expiresAt) };
      };
      // One ticket now, so that a VM without a display to show is refused before anything listens.
      let first: Ticket | null = await open();
      const viewers = new Set<Socket>();
      const server = createServer((socket) => {
        viewers.add(socket);
        socket.once('close', () => viewers.delete(socket));
        const ticket = first ? Promise.resolve(first) : open();
        first = null;
        bridge(api, socket, ticket, open).catch((err: unknown) => {
          socket.destroy();
          ctx.terminal.err(`A viewer was refused: ${(err as Error).message}\n`);
        });
      });
      const at = await listen(server, host, port);
      ctx.terminal.err(
        `Serving the display of ${name} at ${at}: point a VNC viewer there. Ctrl-C stops.\n`,
      );
      await interruptible(
        ctx.terminal,
        (signal) =>
          new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      );
      server.close();
      for (const socket of viewers) socket.destroy();
      ctx.terminal.err('stopped\n');
      return NONE;
    },
  },
];

// One viewer: the RFB bytes pass as they are between its TCP connection and the display socket.
async function bridge(
  api: Api,
  socket: Socket,
  ticket: Promise<Ticket>,
  open: () => Promise<Ticket>,
): Promise<void> {
  socket.pause();
  let { path, expiresAt } = await ticket;
  // The first ticket may have waited for a viewer longer than it lives.
  if (expiresAt - Date.now() < 5000) ({ path } = await open());
  if (socket.destroyed) return;
  const ws = new WebSocket(api.socketUrl(path));
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('open', () => {
    socket.on('data', (chunk) => ws.send(chunk));
    socket.resume();
  });
  ws.addEventListener('message', (e) => {
    socket.write(Buffer.from(e.data as ArrayBuffer));
  });
  ws.addEventListener('close', () => socket.end());
  ws.addEventListener('error', () => socket.destroy());
  socket.on('close', () => ws.close());
  socket.on('error', () => ws.close());
}

function parseListen(value: string): { host: string; port: number } {
  const m =
    /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value) ?? /^()()(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535)
    throw new CliError('USAGE', `--listen takes address:port or a port, not ${value}`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CliError('REFUSED', `cannot listen at ${host}:${port}: ${err.code ?? err.message}`),
      ),
    );
    server.listen(port, host, () => {
      const a = server.address();
      resolve(
        a && typeof a === 'object'
          ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
          : `${host}:${port}`,
      );
    });
  });
}
