// YAML double-quoted scalars (YAML 1.1 and 1.2 agree on these escapes; cloud-init reads with
// PyYAML, which is YAML 1.1).

const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x00, '\\0'],
  [0x07, '\\a'],
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0b, '\\v'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
  [0x1b, '\\e'],
  [0x22, '\\"'],
  [0x5c, '\\\\'],
]);

const hex = (code: number, width: number): string =>
  code.toString(16).toUpperCase().padStart(width, '0');

/**
 * yamlQuote returns s as a YAML double-quoted scalar on one line. The result is printable ASCII
 * only: control characters, DEL and everything past ASCII are escaped, so the text survives
 * line-by-line readers and any encoding, and no line break or `: `/`#` can end the value early.
 * Throws on a lone UTF-16 surrogate, which no YAML text can hold.
 */
export function yamlQuote(s: string): string {
  if (!s.isWellFormed()) throw new Error('text contains a lone UTF-16 surrogate');
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    const short = SHORT_ESCAPES.get(code);
    if (short !== undefined) out += short;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (code < 0x100) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return `${out}"`;
}
