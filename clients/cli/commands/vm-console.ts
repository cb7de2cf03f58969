import { graphql } from '../../graphql/graphql.ts';
import { CliError } from '../api/cli-error.ts';
import { NONE } from '../output/output.ts';
import { resolveRef } from '../resources/refs.ts';
import type { CommandSpec } from './command.ts';

const OPEN = graphql(`mutation VmConsoleOpen($id: ID!) {
  vmConsoleOpen(input: { id: $id }) { console { path expiresAt } userErrors { code field message } } }`);

/** DETACH is the key that leaves a console: Ctrl-], as telnet and virsh console use. */
export const DETACH = 0x1d;

/** The interactive serial console. */
export const vmConsoleCommands: readonly CommandSpec[] = [
  {
    words: ['vm', 'console'],
    summary:
      'Attach this terminal to a running VM’s serial console: what you type goes to the guest (Ctrl-C included). Detach with Ctrl-].',
    args: [{ name: 'vm', description: 'Name or id', complete: 'vm' }],
    async run(ctx, input) {
      const api = ctx.api();
      const id = await resolveRef(api, 'vm', input.arg('vm'));
      const out = await api.mutate(OPEN, { id }, 'vmConsoleOpen');
      const url = api.socketUrl(out.console?.path as string);
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener('open', () => resolve(), { once: true });
        ws.addEventListener(
          'error',
          () => reject(new CliError('NETWORK', `cannot open the console at ${url.origin}`)),
          { once: true },
        );
      });
      ctx.terminal.err(`Connected to the console of ${input.arg('vm')}. Detach with Ctrl-].\r\n`);
      const why = await new Promise<string>((resolve) => {
        const detach = (reason: string) => {
          release();
          ctx.terminal.input.off('end', inputEnded);
          ws.close(1000);
          resolve(reason);
        };
        // Keys piped in by a script: the console is left when they run out.
        const inputEnded = () => detach('detached at the end of the input');
        const release = ctx.terminal.rawInput((chunk) => {
          const at = chunk.indexOf(DETACH);
          if (at < 0) return ws.send(chunk);
          if (at > 0) ws.send(chunk.subarray(0, at));
          detach('detached');
        });
        ctx.terminal.input.once('end', inputEnded);
        ws.addEventListener('message', (e) => {
          ctx.terminal.output.write(
            typeof e.data === 'string' ? e.data : Buffer.from(e.data as ArrayBuffer),
          );
        });
        ws.addEventListener('close', (e) => {
          release();
          ctx.terminal.input.off('end', inputEnded);
          resolve(e.reason || `the console closed (${e.code})`);
        });
      });
      ctx.terminal.err(`\r\n${why}\r\n`);
      return NONE;
    },
  },
];
