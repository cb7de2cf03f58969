import { connect } from 'node:net';
import { buildSchema, type GraphQLSchema } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config/config.ts';
import { type KumoServer, startServer } from '../../src/server/http-server.ts';

// A schema of the server's own tests: the real one has its own tests. It has a query, a
// mutation, a subscription and a field that fails unexpectedly (to check masking).
function testSchema(): GraphQLSchema {
  const schema = buildSchema(`
    type Query { hello(name: String): String!, whoami: String, boom: String, node: Node }
    type Node { id: ID!, child: Node }
    type Mutation { touch: Int! }
    type Subscription { ticks(count: Int!): Int! }
  `);
  let touched = 0;
  const fields = schema.getQueryType()?.getFields();
  if (!fields) throw new Error('no query type');
  (fields.hello as { resolve?: unknown }).resolve = () => 'world';
  (fields.whoami as { resolve?: unknown }).resolve = (
    _s: unknown,
    _a: unknown,
    ctx: { token: string | null },
  ) => ctx.token;
  (fields.boom as { resolve?: unknown }).resolve = () => {
    throw new Error('secret internals: /etc/kumo/db password=hunter2');
  };
  const m = schema.getMutationType()?.getFields();
  (m?.touch as { resolve?: unknown }).resolve = () => ++touched;
  const s = schema.getSubscriptionType()?.getFields();
  (s?.ticks as { subscribe?: unknown; resolve?: unknown }).subscribe = async function* (
    _s: unknown,
    args: { count: number },
  ) {
    for (let i = 1; i <= args.count; i++) yield i;
  };
  (s?.ticks as { resolve?: unknown }).resolve = (v: number) => v;
  return schema;
}

async function start(
  overrides: Parameters<typeof loadConfig>[0] extends infer O
    ? O extends { overrides?: infer V }
      ? V
      : never
    : never = {},
): Promise<KumoServer> {
  const config = loadConfig({
    env: {},
    overrides: { listen: { host: '127.0.0.1', port: 0 }, ...overrides },
  });
  return startServer({
    config,
    schema: testSchema(),
    context: async (info) => ({ token: info.token }),
    health: async () => ({ ok: true, checks: { database: 'ok' } }),
    graphiqlDir: null,
    webConsole: null,
  });
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, unknown>;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    },
  };
}

describe('the server', () => {
  let server: KumoServer;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(() => server.close());

  it('answers queries and mutations over HTTP with the bearer token in context', async () => {
    expect((await post(server.url, { query: '{ hello }' })).body).toEqual({
      data: { hello: 'world' },
    });
    expect(
      (await post(server.url, { query: '{ whoami }' }, { authorization: 'Bearer abc.def' })).body
        .data,
    ).toEqual({ whoami: 'abc.def' });
    expect((await post(server.url, { query: 'mutation { touch }' })).body.data).toEqual({
      touch: 1,
    });
  });

  it('streams subscriptions over graphql-ws on the same port and path', async () => {
    const client = createClient({
      url: server.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const got: number[] = [];
    for await (const r of client.iterate<{ ticks: number }>({
      query: 'subscription { ticks(count: 3) }',
    }))
      got.push(r.data?.ticks ?? -1);
    expect(got).toEqual([1, 2, 3]);
    await client.dispose();
  });

  it('refuses a WebSocket opened by a page of another origin, and takes one of its own', async () => {
    const url = server.url.replace('http', 'ws');
    const open = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url, 'graphql-transport-ws', { origin });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', reject);
      });
    expect(await open('https://evil.example')).toBe(403);
    expect(await open('null')).toBe(403);
    expect(await open(new URL(server.url).origin)).toBe(101);
  });

  it('refuses queries and mutations over the WebSocket', async () => {
    const client = createClient({
      url: server.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    await expect(async () => {
      for await (const _ of client.iterate({ query: 'mutation { touch }' })) {
        // nothing: the server must refuse
      }
    }).rejects.toSatisfy((e: unknown) =>
      JSON.stringify(e).includes('only subscriptions are accepted'),
    );
    await client.dispose();
  });

  it('masks unexpected errors, and logs and counts them for the operator', async () => {
    const logged: string[] = [];
    const log = vi.spyOn(console, 'error').mockImplementation((line: string) => {
      logged.push(line);
    });
    try {
      const { body } = await post(server.url, { query: '{ boom }' });
      expect(JSON.stringify(body)).not.toContain('hunter2');
      expect(body.errors?.[0]?.message).toBe('Unexpected error.');
    } finally {
      log.mockRestore();
    }
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^kumo: unexpected error at boom: .*hunter2/);
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/^kumo_graphql_unexpected_errors_total 1$/m);
  });

  it('refuses a request holding a NUL character, whole, before it runs', async () => {
    const { status, body } = await post(server.url, {
      query: '{ hello }',
      variables: { s: 'a\u0000b' },
    });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/NUL/);
    const literal = await post(server.url, { query: '{ hello(name: "a\\u0000b") }' });
    expect(literal.status).toBe(400);
    expect(literal.body.errors?.[0]?.message).toMatch(/NUL/);
  });

  it('serves subscriptions over the WebSocket only', async () => {
    const { body } = await post(server.url, { query: 'subscription { ticks(count: 1) }' });
    expect(body.errors?.[0]?.message).toMatch(/over the WebSocket/);
  });

  it('refuses documents past the depth, alias and token limits', async () => {
    let deep = 'id';
    for (let i = 0; i < 13; i++) deep = `child { ${deep} }`;
    expect(
      JSON.stringify((await post(server.url, { query: `{ node { ${deep} } }` })).body),
    ).toMatch(/depth/i);
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: hello`).join(' ');
    expect(JSON.stringify((await post(server.url, { query: `{ ${aliases} }` })).body)).toMatch(
      /alias/i,
    );
    const tokens = Array.from({ length: 2100 }, () => 'hello').join(' ');
    expect(JSON.stringify((await post(server.url, { query: `{ ${tokens} }` })).body)).toMatch(
      /token/i,
    );
  });

  it('refuses bodies over the limit before reading them', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ hello } #${'x'.repeat(2 * 1024 * 1024)}` }),
    });
    expect(res.status).toBe(413);
  });

  it('serves health and Prometheus metrics', async () => {
    const health = await fetch(server.url.replace('/graphql', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, checks: { database: 'ok' } });
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/kumo_graphql_operations_total\{type="query",result="ok"\} \d+/);
    expect(metrics).toContain('kumo_process_cpu_seconds_total');
  });
});

describe('the server with introspection off', () => {
  it('refuses introspection queries', async () => {
    const server = await start({ graphql: { introspection: false, graphiql: false } });
    try {
      const { body } = await post(server.url, { query: '{ __schema { types { name } } }' });
      expect(body.errors?.[0]?.message).toMatch(/introspection/i);
      expect((await post(server.url, { query: '{ hello }' })).body.data).toEqual({
        hello: 'world',
      });
    } finally {
      await server.close();
    }
  });
});

describe('the server closing', () => {
  it('lets a request being answered finish, and takes no new one', async () => {
    const server = await start();
    const { port } = new URL(server.url);
    const body = JSON.stringify({ query: '{ hello }' });
    // Headers and half the body now; the rest once closing has begun.
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = server.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(fetch(server.url, { method: 'POST', body })).rejects.toThrow();
    socket.write(body.slice(5));
    await ended;
    await closing;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toContain('{"data":{"hello":"world"}}');
  });
});
