import { createClient as createSocket } from 'graphql-ws';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';

/** GRAPHQL_PATH is where the controller serves GraphQL, over HTTP and graphql-ws alike. */
export const GRAPHQL_PATH = '/graphql';

/** ApiClient is the page's connection to the controller: urql over HTTP and one WebSocket. */
export interface ApiClient {
  readonly urql: Client;
  /** generation counts the clients made in this page: a new session gets a new one. */
  readonly generation: number;
  /** close ends the WebSocket, so the next client connects with the current session cookie. */
  close(): void;
}

let made = 0;

/**
 * createApiClient connects to the controller that served the page. The session is the
 * HttpOnly cookie sessionCreate sets: the page never holds a token, and a browser's
 * WebSocket sends the cookie with its upgrade request.
 */
export function createApiClient(): ApiClient {
  const socket = createSocket({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${GRAPHQL_PATH}`,
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
  });
  const urql = new Client({
    url: GRAPHQL_PATH,
    requestPolicy: 'cache-and-network',
    fetchOptions: { credentials: 'same-origin' },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({
            unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink),
          }),
        }),
      }),
    ],
  });
  return { urql, generation: ++made, close: () => void socket.dispose() };
}
