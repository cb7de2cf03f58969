import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  NoSchemaIntrospectionCustomRule,
} from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from '../config/config.ts';
import type { ContextFactory, RequestInfo } from './context.ts';
import type { ServerMetrics } from './metrics.ts';
import { nulGuard } from './nul-characters.ts';
import { sharedExecutions, type ViewerOf } from './shared-executions.ts';

/** GRAPHQL_PATH is where the API (HTTP and WebSocket) and GraphiQL live. */
export const GRAPHQL_PATH = '/graphql';

/** ServerContext is what yoga's server context carries into `context`. */
export interface ServerContext {
  readonly info: RequestInfo;
}

/** YogaOptions assemble the GraphQL endpoint. */
export interface YogaOptions<C extends object> {
  readonly schema: GraphQLSchema;
  readonly config: Config['graphql'];
  readonly context: ContextFactory<C>;
  readonly metrics: ServerMetrics;
  /** graphiqlAssets is the URL prefix of the locally served GraphiQL bundle, or null. */
  readonly graphiqlAssets: string | null;
  /** viewerOf lets subscriptions of one viewer share each event's execution (sharedExecutions). */
  readonly viewerOf?: ViewerOf;
}

/**
 * createKumoYoga builds the yoga instance behind both transports: hardening (depth, aliases,
 * tokens and cost limits from graphql-armor; introspection switchable; unexpected errors
 * masked) and per-operation metrics.
 */
export function createKumoYoga<C extends object>(
  opts: YogaOptions<C>,
): YogaServerInstance<ServerContext, C> {
  const g = opts.config;
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: g.maxDepth },
      maxAliases: { n: g.maxAliases },
      maxTokens: { n: g.maxTokens },
      costLimit: { maxCost: g.maxCost },
      // Suggestions would tell an attacker the names of fields they cannot see.
      blockFieldSuggestion: { enabled: true },
    }),
    metricsPlugin(opts.metrics),
    nulGuard(),
    ...(opts.viewerOf ? [sharedExecutions(opts.viewerOf)] : []),
    {
      // Over HTTP a subscription would be a long response outside the WebSocket's bookkeeping.
      onSubscribe: ({ args, setResultAndStopExecution }) => {
        if ((args.contextValue as Partial<ServerContext>).info?.transport === 'websocket') return;
        setResultAndStopExecution({
          errors: [
            new GraphQLError(
              `subscriptions are served over the WebSocket (graphql-ws) at ${GRAPHQL_PATH}`,
              { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } },
            ),
          ],
        });
      },
    },
    {
      onResponse: ({ response, serverContext }) => {
        for (const cookie of (serverContext as Partial<ServerContext>).info?.cookies.headers ??
          []) {
          response.headers.append('set-cookie', cookie);
        }
      },
    },
  ];
  if (!g.introspection) {
    plugins.push({
      onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
    });
  }
  return createYoga<ServerContext, C>({
    schema: opts.schema,
    graphqlEndpoint: GRAPHQL_PATH,
    context: ({ info }) => opts.context(info),
    maskedErrors: true,
    // yoga logs at error level exactly the errors it masks (and the few it cannot read).
    logging: {
      debug: () => undefined,
      info: (...args: unknown[]) => console.info(...args),
      warn: (...args: unknown[]) => console.warn(...args),
      error: (error: unknown) => reportUnexpected(error, opts.metrics),
    },
    landingPage: false,
    graphiql: g.graphiql ? { subscriptionsProtocol: 'WS', title: 'Kumo' } : false,
    ...(opts.graphiqlAssets && g.graphiql
      ? { renderGraphiQL: graphiqlPage(opts.graphiqlAssets) }
      : {}),
    plugins,
  });
}

// The client sees "Unexpected error."; the operator needs what it was and where.
function reportUnexpected(error: unknown, metrics: ServerMetrics): void {
  metrics.unexpectedErrors.inc();
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  const where = error instanceof GraphQLError && error.path ? ` at ${error.path.join('.')}` : '';
  const what = original instanceof Error ? (original.stack ?? original.message) : String(original);
  console.error(`kumo: unexpected error${where}: ${what}`);
}

function metricsPlugin(metrics: ServerMetrics): Plugin {
  return {
    onExecute: ({ args }) => {
      const type = getOperationAST(args.document, args.operationName)?.operation ?? 'unknown';
      const end = metrics.duration.startTimer({ type });
      return {
        onExecuteDone: ({ result }) => {
          end();
          const failed =
            'errors' in result && result.errors !== undefined && result.errors.length > 0;
          metrics.operations.inc({ type, result: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}

// The GraphiQL page yoga renders loads its bundle from a CDN; Kumo serves the same bundle itself.
function graphiqlPage(assets: string) {
  return (
    options: object,
  ): string => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kumo GraphiQL</title>
<link rel="stylesheet" href="${assets}/graphiql.css"></head><body id="body" class="no-focus-outline">
<div id="root">Loading GraphiQL…</div>
<script>self.MonacoEnvironment={globalAPI:false,getWorkerUrl:function(_id,label){return ${JSON.stringify(assets)}+({json:'/monacoeditorwork/json.worker.bundle.js',graphql:'/monacoeditorwork/graphql.worker..bundle.js'}[label]||'/monacoeditorwork/editor.worker.bundle.js')}}</script>
<script src="${assets}/yoga-graphiql.umd.js"></script>
<script>YogaGraphiQL.renderYogaGraphiQL(root, ${JSON.stringify(options).replaceAll('<', '\\u003c')})</script></body></html>`;
}
