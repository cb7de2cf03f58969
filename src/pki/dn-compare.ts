import { attributeOid } from './dn.ts';

/** Attribute is one parsed attribute: its type (an OID when known) and its value as text. */
type Attribute = readonly [type: string, value: string];

/** Rdn is one relative distinguished name: one attribute, or several for a multi-valued RDN. */
type Rdn = readonly Attribute[];

function typeKey(type: string): string {
  const dotted = /^(?:oid\.)?(\d+(?:\.\d+)+)$/i.exec(type);
  return dotted?.[1] ?? attributeOid(type) ?? type.toLowerCase();
}

/** Piece is the text between two separators, backslash escapes kept, and the separator before it. */
interface Piece {
  readonly separator: string;
  readonly text: string;
}

// Splits at the unescaped separators for which `starts` accepts the text after them.
function split(s: string, separators: string, starts: (rest: string) => boolean): Piece[] {
  const pieces: Piece[] = [];
  let separator = '';
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c === '\\') {
      text += s.slice(i, i + 2);
      i++;
    } else if (separators.includes(c) && starts(s.slice(i + 1))) {
      pieces.push({ separator, text });
      separator = c;
      text = '';
    } else {
      text += c;
    }
  }
  pieces.push({ separator, text });
  return pieces;
}

/**
 * unescapeValue decodes a value's escapes into bytes read as UTF-8: `\xHH` in OpenSSL's slash form,
 * `\HH` in RFC 4514's, and a backslash before any other character for that character. With
 * `trim`, spaces not escaped at either end go (RFC 4514 escapes the ones that belong to the value).
 */
function unescapeValue(raw: string, hex: RegExp, trim: boolean): string | null {
  const bytes: number[] = [];
  let kept = 0;
  let i = trim ? raw.length - raw.trimStart().length : 0;
  for (; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const hexPair = hex.exec(raw.slice(i + 1));
    if (hexPair?.[1]) {
      bytes.push(Number.parseInt(hexPair[1], 16));
      i += hexPair[0].length;
    } else if (i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw.charAt(i + 1), 'utf8'));
      i++;
    } else {
      return null;
    }
    kept = bytes.length;
  }
  while (trim && bytes.length > kept && bytes.at(-1) === 0x20) bytes.pop();
  return Buffer.from(bytes).toString('utf8');
}

function attribute(piece: string, hex: RegExp, trim: boolean): Attribute | null {
  const eq = piece.indexOf('=');
  const type = piece.slice(0, Math.max(eq, 0)).trim();
  if (!type) return null;
  const value = unescapeValue(piece.slice(eq + 1), hex, trim);
  return value === null ? null : [typeKey(type), value];
}

// In the slash form a `/` or `+` only separates when a `type=` follows: OpenSSL before 3.0.22
// wrote both bare inside values (`/CN=http://host/x`).
const TYPE_AHEAD = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)=/;

function parseSlashDn(dn: string): Rdn[] | null {
  const rdns: Attribute[][] = [];
  for (const { separator, text } of split(dn.slice(1), '/+', (rest) => TYPE_AHEAD.test(rest))) {
    const parsed = attribute(text, /^x([0-9A-Fa-f]{2})/, false);
    const current = rdns.at(-1);
    if (!parsed) return null;
    if (separator === '+' && current) current.push(parsed);
    else rdns.push([parsed]);
  }
  return rdns;
}

function parseRfc4514Dn(dn: string): Rdn[] | null {
  const rdns: Rdn[] = [];
  for (const { text } of split(dn, ',', () => true)) {
    const rdn: Attribute[] = [];
    for (const ava of split(text, '+', () => true)) {
      const parsed = attribute(ava.text, /^([0-9A-Fa-f]{2})/, true);
      if (!parsed) return null;
      rdn.push(parsed);
    }
    rdns.push(rdn);
  }
  // RFC 4514 writes the last RDN of the encoding first.
  return rdns.reverse();
}

/**
 * parseDn reads a DN string into its RDNs in encoding order: OpenSSL's slash form when it starts
 * with `/` (`/DC=es/O=cesga/CN=x`, as `opensslDn` writes it), RFC 4514 otherwise
 * (`CN=x,O=cesga,DC=es`, reversed). Null when it is neither.
 */
function parseDn(dn: string): Rdn[] | null {
  if (dn === '') return [];
  return dn.startsWith('/') ? parseSlashDn(dn) : parseRfc4514Dn(dn);
}

function rdnKey(rdn: Rdn): string {
  // A multi-valued RDN is a set: its attributes compare in any order.
  return JSON.stringify(rdn.map(([type, value]) => `${type}=${value}`).sort());
}

/**
 * sameDn says whether two DN strings name the same subject, each in OpenSSL's slash form or
 * RFC 4514 form: RDN by RDN in encoding order, attribute types case-insensitively (and by OID,
 * so `emailAddress`, `E` and `1.2.840.113549.1.9.1` are one type), values exactly after their
 * escapes are decoded. A string that parses as neither form is the same as nothing.
 */
export function sameDn(a: string, b: string): boolean {
  const left = parseDn(a);
  const right = parseDn(b);
  if (!left || !right || left.length !== right.length) return false;
  return left.every((rdn, i) => {
    const other = right[i];
    return other !== undefined && rdnKey(rdn) === rdnKey(other);
  });
}
