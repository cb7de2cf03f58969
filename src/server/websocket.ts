import type { IncomingMessage } from 'node:http';
import { type ExecutionArgs, GraphQLError, getOperationAST } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { WebSocketServer } from 'ws';
import { bearerToken, type RequestInfo } from './context.ts';
import type { ServerMetrics } from './metrics.ts';
import { cookieToken, ResponseCookies } from './session-cookie.ts';
import { Uploads } from './uploads.ts';
import type { ServerContext } from './yoga.ts';

type Enveloped = ReturnType<YogaServerInstance<ServerContext, object>['getEnveloped']>;

interface EnvelopedArgs extends ExecutionArgs {
  readonly rootValue: {
    readonly execute: Enveloped['execute'];
    readonly subscribe: Enveloped['subscribe'];
  };
}

// GraphiQL sends its Headers tab as the connection params, so the key may be capitalised.
function authorizationParam(params: Record<string, unknown> | undefined): string | null {
  const value = Object.entries(params ?? {}).find(
    ([k]) => k.toLowerCase() === 'authorization',
  )?.[1];
  return typeof value === 'string' ? value : null;
}

/**
 * serveSubscriptions runs graphql-ws on the WebSocket server, through the same yoga instance
 * (schema, armor limits, context) as HTTP. Only subscriptions are accepted here: the plugins
 * that guard HTTP requests (body size, rate limits) do not run on a socket, so queries and
 * mutations must come over HTTP. The bearer token travels in the connection params.
 */
export function serveSubscriptions<C extends object>(
  wss: WebSocketServer,
  yoga: YogaServerInstance<ServerContext, C>,
  metrics: ServerMetrics,
): () => Promise<void> {
  const server = useServer<Record<string, unknown> | undefined, { request: IncomingMessage }>(
    {
      execute: (args) => (args as EnvelopedArgs).rootValue.execute(args),
      subscribe: (args) => (args as EnvelopedArgs).rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const info: RequestInfo = {
          transport: 'websocket',
          address: ctx.extra.request.socket.remoteAddress ?? 'unknown',
          userAgent: String(ctx.extra.request.headers['user-agent'] ?? ''),
          token:
            bearerToken(authorizationParam(ctx.connectionParams)) ??
            cookieToken(ctx.extra.request.headers.cookie),
          cookies: new ResponseCookies(),
          uploads: new Uploads(),
        };
        const env = yoga.getEnveloped({ info, params: payload });
        let document: ReturnType<typeof env.parse>;
        try {
          document = env.parse(payload.query);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
        }
        const op = getOperationAST(document, payload.operationName);
        if (op?.operation !== 'subscription') {
          return [
            new GraphQLError(
              'only subscriptions are accepted over the WebSocket; send queries and mutations over HTTP',
              {
                extensions: { code: 'BAD_REQUEST' },
              },
            ),
          ];
        }
        const errors = env.validate(env.schema, document);
        if (errors.length > 0) return errors;
        metrics.subscriptions.inc({ event: 'start' });
        const args: EnvelopedArgs = {
          schema: env.schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: await env.contextFactory(),
          rootValue: { execute: env.execute, subscribe: env.subscribe },
        };
        return args;
      },
      onComplete: () => {
        metrics.subscriptions.inc({ event: 'end' });
      },
    },
    wss,
  );
  return async () => {
    await server.dispose();
  };
}
