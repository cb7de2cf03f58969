import type { IncomingMessage } from 'node:http';
import { cookieToken, ResponseCookies } from './session-cookie.ts';
import { Uploads } from './uploads.ts';

/** RequestInfo is what the transport knows about a caller before authentication. */
export interface RequestInfo {
  /** transport is how the request came: subscriptions are served over the WebSocket only. */
  readonly transport: 'http' | 'websocket';
  /** address is the peer's IP address (rate limits and audit key on it). */
  readonly address: string;
  readonly userAgent: string;
  /**
   * token is the session token: from the Authorization header (or the WebSocket's connection
   * params), else from the session cookie.
   */
  readonly token: string | null;
  /** cookies collects what the response should set (nothing reaches a WebSocket). */
  readonly cookies: ResponseCookies;
  /** uploads are the files of a multipart request (none for any other). */
  readonly uploads: Uploads;
}

/** ContextFactory turns a request into the GraphQL context; the composition root supplies it. */
export type ContextFactory<C> = (info: RequestInfo) => Promise<C>;

/** bearerToken extracts the token of an `Authorization: Bearer <token>` value. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m ? (m[1] as string) : null;
}

/** requestInfo reads the caller's address, agent and token from an HTTP request. */
export function requestInfo(req: IncomingMessage): RequestInfo {
  return {
    transport: 'http',
    address: req.socket.remoteAddress ?? 'unknown',
    userAgent: String(req.headers['user-agent'] ?? ''),
    token: bearerToken(req.headers.authorization) ?? cookieToken(req.headers.cookie),
    cookies: new ResponseCookies(),
    uploads: new Uploads(),
  };
}
