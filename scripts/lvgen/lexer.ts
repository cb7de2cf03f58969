/**
 * Lexer for the XDR language as rpcgen reads it. Comments are skipped, except that a doc
 * comment (`/** ... *\/`) is kept on the next token: libvirt puts the `@generate`,
 * `@readstream: N`, `@writestream: N`, `@priority` and `@acl` annotations of each procedure
 * there. Lines starting with `%` are rpcgen passthrough (C code for the generated header) and
 * are skipped.
 */

export type TokenKind = 'ident' | 'number' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** value is set for numbers. */
  readonly value: number;
  readonly line: number;
  readonly col: number;
  /** doc is the body of the doc comment right before this token, if any. */
  readonly doc: string | null;
}

/** SyntaxError of the generator: names the file, line and column. */
export class XdrSyntaxError extends Error {
  override readonly name = 'XdrSyntaxError';
}

const PUNCT = new Set(['{', '}', '(', ')', '[', ']', '<', '>', ';', ',', '=', '*', ':']);

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || (c >= '0' && c <= '9');
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** parseNumber reads a C integer literal: decimal, 0x hex or 0-prefixed octal, optionally negative. */
function parseNumber(text: string): number {
  const neg = text.startsWith('-');
  const body = neg ? text.slice(1) : text;
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) v = Number.parseInt(body.slice(2), 16);
  else if (/^0[0-7]+$/.test(body)) v = Number.parseInt(body.slice(1), 8);
  else if (/^[0-9]+$/.test(body)) v = Number.parseInt(body, 10);
  else v = Number.NaN;
  return neg ? -v : v;
}

/** tokenize splits one .x file into tokens, ending with an `eof` token. */
export function tokenize(src: string, file = '<input>'): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  let doc: string | null = null;
  const fail = (msg: string): never => {
    throw new XdrSyntaxError(`${file}:${line}:${pos - lineStart + 1}: ${msg}`);
  };
  const push = (kind: TokenKind, text: string, start: number, value = 0): void => {
    tokens.push({ kind, text, value, line, col: start - lineStart + 1, doc });
    doc = null;
  };

  while (pos < src.length) {
    const c = src.charAt(pos);
    if (c === '\n') {
      pos++;
      line++;
      lineStart = pos;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      pos++;
      continue;
    }
    // rpcgen passthrough: a line whose first non-blank character is %.
    if (c === '%' && src.slice(lineStart, pos).trim() === '') {
      while (pos < src.length && src.charAt(pos) !== '\n') pos++;
      continue;
    }
    if (c === '/' && src.charAt(pos + 1) === '*') {
      const end = src.indexOf('*/', pos + 2);
      if (end < 0) fail('unterminated comment');
      const text = src.slice(pos, end + 2);
      // A doc comment is /** ... */ (but not the empty /**/).
      doc = text.startsWith('/**') && text.length > 4 ? text.slice(3, -2) : doc;
      for (let i = pos; i < end; i++) {
        if (src.charAt(i) === '\n') {
          line++;
          lineStart = i + 1;
        }
      }
      pos = end + 2;
      continue;
    }
    if (c === '/' && src.charAt(pos + 1) === '/') {
      while (pos < src.length && src.charAt(pos) !== '\n') pos++;
      continue;
    }
    const start = pos;
    if (isIdentStart(c)) {
      while (pos < src.length && isIdentPart(src.charAt(pos))) pos++;
      push('ident', src.slice(start, pos), start);
      continue;
    }
    if (isDigit(c) || (c === '-' && isDigit(src[pos + 1]))) {
      pos++;
      while (pos < src.length && /[0-9a-zA-Z]/.test(src.charAt(pos))) pos++;
      const text = src.slice(start, pos);
      const value = parseNumber(text);
      if (!Number.isSafeInteger(value)) fail(`bad number ${text}`);
      push('number', text, start, value);
      continue;
    }
    if (PUNCT.has(c)) {
      pos++;
      push('punct', c, start);
      continue;
    }
    fail(`unexpected character ${JSON.stringify(c)}`);
  }
  push('eof', '', pos);
  return tokens;
}

/**
 * parseAnnotations reads the `@key: value` lines of a doc comment body. Lines may start with
 * `*` as in libvirt's comments; repeated keys (`@acl`) give repeated entries.
 */
export function parseAnnotations(doc: string | null): { key: string; value: string }[] {
  if (doc === null) return [];
  const out: { key: string; value: string }[] = [];
  for (const raw of doc.split('\n')) {
    const m = /^\s*\*?\s*@([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$/.exec(raw);
    if (m?.[1] !== undefined) out.push({ key: m[1], value: m[2] ?? '' });
  }
  return out;
}
