/**
 * The API's ids are Relay global ids: base64 of `Type:uuid`. People see and type the uuid's
 * first 8 hex digits (as docker shows ids), or names; scripts get the full id with --json.
 */

/** decodeId returns a global id's type and raw id, or null when `s` is none. */
export function decodeId(s: string): { type: string; raw: string } | null {
  if (!/^[A-Za-z0-9+/]+=*$/.test(s) || s.length < 8) return null;
  const text = Buffer.from(s, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 1 || !/^[A-Z][A-Za-z]+$/.test(text.slice(0, colon))) return null;
  return { type: text.slice(0, colon), raw: text.slice(colon + 1) };
}

/** shortId is what tables show of a global id: its raw id's first 8 characters. */
export function shortId(id: string): string {
  return (decodeId(id)?.raw ?? id).slice(0, 8);
}
