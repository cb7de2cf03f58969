import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { TadaDocumentNode } from 'gql.tada';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { CliError } from './cli-error.ts';

/** UserErrorView is a mutation's user error as every payload carries them. */
export interface UserErrorView {
  readonly code: string;
  readonly field?: string | null;
  readonly message: string;
}

interface GraphQLResponse {
  readonly data?: unknown;
  readonly errors?: ReadonlyArray<{
    readonly message: string;
    readonly extensions?: { readonly code?: string };
  }>;
}

const LOGIN_HINT = 'run `kumo login` (or pass --context, or set KUMO_TOKEN)';

/**
 * Api sends GraphQL documents to one Kumo server as one signed-in user (or anonymously) and
 * turns every failure into a CliError that says what to do.
 */
export class Api {
  readonly server: string;
  readonly token: string | null;

  constructor(server: string, token: string | null) {
    this.server = server;
    this.token = token;
  }

  /** endpoint is the GraphQL URL: the server's origin and /graphql. */
  get endpoint(): string {
    return new URL('/graphql', this.server).toString();
  }

  /** socketUrl is a WebSocket URL (ws: or wss:, as the server is) of a path on the server. */
  socketUrl(path: string): URL {
    const url = new URL(path, this.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url;
  }

  /**
   * subscribe runs a subscription on a connection of its own, closed when the caller stops
   * iterating (or on `signal`); errors become CliErrors as request's do.
   */
  async *subscribe<R, V>(
    doc: TadaDocumentNode<R, V>,
    variables: V,
    signal?: AbortSignal,
  ): AsyncGenerator<R> {
    const client = createClient({
      url: this.socketUrl('/graphql').toString(),
      retryAttempts: 0,
      lazy: true,
      connectionParams: this.token ? { authorization: `Bearer ${this.token}` } : {},
    });
    const events = client.iterate<R>({
      query: print(doc),
      variables: variables as Record<string, unknown>,
    });
    // graphql-ws's return() unsubscribes but leaves a pending next() waiting: the signal is
    // raced against each next() instead.
    const aborted = new Promise<null>((resolve) => {
      if (signal?.aborted) resolve(null);
      signal?.addEventListener('abort', () => resolve(null), { once: true });
    });
    try {
      for (;;) {
        const next = await Promise.race([events.next(), aborted]);
        if (!next || next.done) return;
        const first = next.value.errors?.[0];
        if (first) throw topLevelError(first.message, first.extensions?.code as string | undefined);
        if (next.value.data) yield next.value.data as R;
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw socketError(this.server, err);
    } finally {
      await events.return?.(undefined);
      await client.dispose();
    }
  }

  /** request runs a query or mutation and returns its data; GraphQL errors are thrown. */
  request<R, V>(doc: TadaDocumentNode<R, V>, variables: V): Promise<R> {
    return this.post(JSON.stringify({ query: print(doc), variables }), {
      'content-type': 'application/json',
    });
  }

  /**
   * upload runs a mutation with one file (a GraphQL multipart request) and returns its payload
   * as mutate does: the file is streamed from disk in place of the variable at `at`
   * (`input.file`), `onSent` told of the bytes sent so far.
   */
  async upload<R, V, K extends keyof R>(
    doc: TadaDocumentNode<R, V>,
    variables: V,
    field: K,
    at: string,
    file: { readonly path: string; readonly name: string },
    onSent: (bytes: number) => void,
  ): Promise<R[K]> {
    const boundary = `kumo-${randomUUID()}`;
    const part = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const head =
      part('operations', JSON.stringify({ query: print(doc), variables })) +
      part('map', JSON.stringify({ 0: [`variables.${at}`] })) +
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${file.name.replaceAll('"', '')}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n';
    async function* parts() {
      yield Buffer.from(head);
      let sent = 0;
      for await (const chunk of createReadStream(file.path)) {
        yield chunk as Buffer;
        sent += (chunk as Buffer).length;
        onSent(sent);
      }
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }
    const data = await this.post<R>(
      Readable.toWeb(Readable.from(parts())) as ReadableStream<Uint8Array>,
      { 'content-type': `multipart/form-data; boundary=${boundary}` },
    );
    return payloadOf(data, field);
  }

  private async post<R>(
    body: string | ReadableStream<Uint8Array>,
    headers: Record<string, string>,
  ): Promise<R> {
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          ...headers,
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body,
        ...(typeof body === 'string'
          ? { signal: AbortSignal.timeout(120_000) }
          : { duplex: 'half' }),
      } as RequestInit);
    } catch (err) {
      throw unreachable(this.server, err);
    }
    let parsed: GraphQLResponse;
    try {
      parsed = (await res.json()) as GraphQLResponse;
    } catch {
      throw new CliError('NETWORK', `${this.server} answered HTTP ${res.status}, not GraphQL`, {
        hint: 'check the server URL (--server, or kumo login)',
      });
    }
    const first = parsed.errors?.[0];
    if (first) throw topLevelError(first.message, first.extensions?.code);
    if (!parsed.data) throw new CliError('REFUSED', `${this.server} answered no data`);
    return parsed.data as R;
  }

  /**
   * mutate runs a mutation and returns its payload (`data[field]`); its first user error is
   * thrown, with the field it concerns.
   */
  async mutate<R, V, K extends keyof R>(
    doc: TadaDocumentNode<R, V>,
    variables: V,
    field: K,
  ): Promise<R[K]> {
    return payloadOf(await this.request(doc, variables), field);
  }
}

// A mutation's payload, its first user error thrown with the field it concerns.
function payloadOf<R, K extends keyof R>(data: R, field: K): R[K] {
  const error = (data[field] as { userErrors?: readonly UserErrorView[] }).userErrors?.[0];
  if (error) throw userError(error);
  return data[field];
}

/** userError is the CliError of a mutation's user error. */
export function userError(e: UserErrorView): CliError {
  const kind = e.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'REFUSED';
  return new CliError(kind, e.message, {
    field: e.field ?? null,
    hint: e.code === 'INVALID_CREDENTIALS' ? 'check the email and password' : null,
  });
}

function topLevelError(message: string, code: string | undefined): CliError {
  if (code === 'UNAUTHENTICATED')
    return new CliError('AUTH', 'not signed in, or the session expired', { hint: LOGIN_HINT });
  if (code === 'FORBIDDEN') return new CliError('AUTH', message);
  if (code === 'NOT_FOUND') return new CliError('NOT_FOUND', message);
  return new CliError('REFUSED', message);
}

// graphql-ws rejects with the GraphQL errors of a refused subscription, or with the socket's
// close event or error when the connection fails.
function socketError(server: string, err: unknown): CliError {
  if (Array.isArray(err)) {
    const first = err[0] as { message?: string; extensions?: { code?: string } } | undefined;
    return topLevelError(first?.message ?? 'subscription refused', first?.extensions?.code);
  }
  const close = err as { code?: number; reason?: string };
  if (typeof close.code === 'number') {
    if (close.code === 4403 || close.code === 4401)
      return new CliError('AUTH', close.reason || 'not allowed', { hint: LOGIN_HINT });
    return new CliError(
      'NETWORK',
      `the connection to ${server} closed (${close.code} ${close.reason ?? ''})`.trim(),
    );
  }
  return unreachable(server, err);
}

function unreachable(server: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new CliError('NETWORK', `cannot reach ${server} (${why})`, {
    hint: 'is the server running? Check the URL with `kumo context ls`, or pass --server',
  });
}
