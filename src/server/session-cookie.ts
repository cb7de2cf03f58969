/**
 * SESSION_COOKIE carries the session token for browsers. A browser's WebSocket cannot send an
 * Authorization header, and GraphiQL sends no connection params, so the upgrade request's
 * cookie is how a browser's subscriptions authenticate. HttpOnly keeps it from scripts;
 * SameSite=Strict keeps it off every cross-site request, so it adds no CSRF exposure.
 */
export const SESSION_COOKIE = 'kumo_session';

/** cookieToken reads the session token from a Cookie header, or null. */
export function cookieToken(header: string | undefined): string | null {
  for (const part of (header ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE && rest.length > 0) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/** ResponseCookies collects the Set-Cookie headers a request's resolvers ask for. */
export class ResponseCookies {
  readonly headers: string[] = [];

  /** setSession stores the token in the browser until the session expires. */
  setSession(token: string, expiresAt: Date): void {
    const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
    this.headers.push(
      `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict`,
    );
  }

  /** clearSession removes the token from the browser. */
  clearSession(): void {
    this.headers.push(`${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`);
  }
}
