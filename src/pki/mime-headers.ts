/** HeaderBlock is a MIME header block: field names lower-cased, folded lines joined. */
export interface HeaderBlock {
  readonly headers: ReadonlyMap<string, string>;
  /** bodyStart is the offset of the body, just after the blank line that ends the block. */
  readonly bodyStart: number;
}

const FIELD = /^([A-Za-z0-9-]+):(.*)$/;

/**
 * readHeaderBlock parses the header block at `from` in `text` (a Buffer read as latin1, so
 * offsets are byte offsets). Lines may end CRLF or LF, as openssl writes them. Null when the
 * first line is not a header field; a block without its blank line runs to the end.
 */
export function readHeaderBlock(text: string, from = 0): HeaderBlock | null {
  const headers = new Map<string, string>();
  let last = '';
  let at = from;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(at, end).replace(/\r$/, '');
    at = end + 1;
    if (line === '') return { headers, bodyStart: Math.min(at, text.length) };
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const field = FIELD.exec(line);
    if (!field?.[1]) return null;
    last = field[1].toLowerCase();
    headers.set(last, (field[2] ?? '').trim());
  }
  return headers.size > 0 ? { headers, bodyStart: text.length } : null;
}

/** ContentType is a parsed Content-Type: `type/subtype` and parameters, names lower-cased. */
export interface ContentType {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
}

const PARAM = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;

/** parseContentType reads a Content-Type value (RFC 2045), unquoting quoted parameters. */
export function parseContentType(value: string): ContentType {
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  const params = new Map<string, string>();
  for (const [, name, raw] of value.matchAll(PARAM)) {
    if (!name || raw === undefined) continue;
    const unquoted = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    params.set(name.toLowerCase(), unquoted);
  }
  return { type, params };
}
