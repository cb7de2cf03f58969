import type { TadaDocumentNode } from 'gql.tada';
import { print } from 'graphql';
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

  /** request runs a query or mutation and returns its data; GraphQL errors are thrown. */
  async request<R, V>(doc: TadaDocumentNode<R, V>, variables: V): Promise<R> {
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify({ query: print(doc), variables }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw unreachable(this.server, err);
    }
    let body: GraphQLResponse;
    try {
      body = (await res.json()) as GraphQLResponse;
    } catch {
      throw new CliError('NETWORK', `${this.server} answered HTTP ${res.status}, not GraphQL`, {
        hint: 'check the server URL (--server, or kumo login)',
      });
    }
    const first = body.errors?.[0];
    if (first) throw topLevelError(first.message, first.extensions?.code);
    if (!body.data) throw new CliError('REFUSED', `${this.server} answered no data`);
    return body.data as R;
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
    const data = await this.request(doc, variables);
    const payload = data[field] as { userErrors?: readonly UserErrorView[] };
    const error = payload.userErrors?.[0];
    if (error) throw userError(error);
    return data[field];
  }
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

function unreachable(server: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new CliError('NETWORK', `cannot reach ${server} (${why})`, {
    hint: 'is the server running? Check the URL with `kumo context ls`, or pass --server',
  });
}
