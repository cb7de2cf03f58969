import type { VmId } from '../entities/ids.ts';
import { CONSOLE_PATH } from '../server/console-socket.ts';
import { DISPLAY_PATH } from '../server/display-socket.ts';
import type { ConsoleKind } from '../services/vms/console-tickets.ts';
import { audited } from './audited.ts';
import { builder } from './builder.ts';
import { actorOf } from './context.ts';
import { runForQuery, UserError, type UserErrorShape } from './user-errors.ts';
import { VmType } from './vm.ts';

interface ConsoleTicket {
  readonly kind: ConsoleKind;
  readonly ticket: string;
  readonly expiresAt: Date;
}

const PATHS: Record<ConsoleKind, string> = { serial: CONSOLE_PATH, display: DISPLAY_PATH };

const ConsoleTicketType = builder.objectRef<ConsoleTicket>('ConsoleTicket').implement({
  description:
    "Opens an interactive console once: connect a WebSocket to `path` on this server before `expiresAt`. On a serial console the guest's output arrives as binary messages and what you send is typed into it; a graphical console carries RFB (VNC) in binary messages, asking no password (noVNC speaks it).",
  fields: (t) => ({
    ticket: t.exposeString('ticket'),
    path: t.string({
      description: 'Where to connect, relative to the API origin (ws:// or wss://).',
      resolve: (c) => `${PATHS[c.kind]}?ticket=${encodeURIComponent(c.ticket)}`,
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

const VmConsoleOpenPayload = builder
  .objectRef<{ console: ConsoleTicket | null; userErrors: UserErrorShape[] }>(
    'VmConsoleOpenPayload',
  )
  .implement({
    fields: (t) => ({
      console: t.field({ type: ConsoleTicketType, nullable: true, resolve: (p) => p.console }),
      userErrors: t.field({ type: [UserError], resolve: (p) => p.userErrors }),
    }),
  });

const VmConsoleOpenInput = builder.inputType('VmConsoleOpenInput', {
  fields: (t) => ({ id: t.globalID({ for: VmType }) }),
});

const OPENS = {
  vmConsoleOpen: {
    kind: 'serial',
    description:
      "A single-use ticket to a running VM's interactive serial console. Needs OPERATOR; the console closes if that role is taken away.",
  },
  vmDisplayOpen: {
    kind: 'display',
    description:
      "A single-use ticket to a running VM's graphical console (its VNC display, through the controller). Needs OPERATOR; the console closes if that role is taken away.",
  },
} as const;

builder.mutationFields((t) =>
  Object.fromEntries(
    Object.entries(OPENS).map(([action, { kind, description }]) => [
      action,
      t.field({
        type: VmConsoleOpenPayload,
        authScopes: { signedIn: true },
        description,
        args: { input: t.arg({ type: VmConsoleOpenInput }) },
        resolve: async (_r, { input }, ctx) => {
          const id = input.id.id as VmId;
          const out = await audited(ctx, action, { type: 'VM', id }, async () => ({
            kind,
            ...(await ctx.services.consoles.ticket(actorOf(ctx), id, kind)),
          }));
          return { console: out.result, userErrors: out.userErrors };
        },
      }),
    ]),
  ),
);

builder.subscriptionFields((t) => ({
  vmConsole: t.string({
    authScopes: { signedIn: true },
    description:
      "A running VM's serial console output, line by line, from now on. Shared with interactive sessions; takes the console over from clients outside Kumo. Needs OPERATOR.",
    args: { vm: t.arg.globalID({ for: VmType }) },
    // Refused before the stream starts, so the refusal reaches the client as itself.
    subscribe: (_r, args, ctx) =>
      runForQuery(() => ctx.services.consoles.lines(actorOf(ctx), args.vm.id as VmId)),
    resolve: (line) => line,
  }),
}));
