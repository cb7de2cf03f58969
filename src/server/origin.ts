import type { IncomingMessage } from 'node:http';

/**
 * originAllowed says whether a WebSocket handshake may go on. Browsers send the page's Origin and
 * the session cookie with it; a page of another origin must not get a socket authenticated by
 * the cookie (SameSite keeps it off other sites, not off a sibling origin of the same site).
 * Clients that are not browsers send no Origin. Allowed: none; the origin the request was sent to
 * (its Host); the configured public URL's (behind a proxy).
 */
export function originAllowed(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (publicUrl && url.origin === new URL(publicUrl).origin) return true;
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === req.headers.host;
}
