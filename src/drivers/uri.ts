import { DriverError } from './errors.ts';

const SCHEME = /^([a-z][a-z0-9]*(?:\+[a-z0-9]+)?):/i;

/** schemeOf returns a URI's scheme in lower case (`qemu+tls`), or throws INVALID_URI. */
export function schemeOf(uri: string): string {
  const m = SCHEME.exec(uri);
  if (!m?.[1]) {
    throw new DriverError(
      'INVALID_URI',
      `${JSON.stringify(redactUri(uri))} is not a hypervisor URI: expected driver[+transport]://[user@]host/path, e.g. qemu+tls://host.example/system`,
    );
  }
  return m[1].toLowerCase();
}

/**
 * redactUri keeps a URI's scheme, user, host, port and path and drops its query, where paths to
 * key files live; it is what logs and messages show.
 */
export function redactUri(uri: string): string {
  const q = uri.search(/[?#]/);
  return q === -1 ? uri : uri.slice(0, q);
}
