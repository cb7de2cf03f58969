// File names on the two directory trees: Joliet keeps the real name (UCS-2, up to 64 characters);
// the primary tree gets an ISO 9660 level-1 name (8.3, d-characters, ";1"), the way genisoimage
// maps them: "meta-data" becomes "META_DAT.;1".

/** JOLIET_MAX_NAME is the longest Joliet file name, in UCS-2 characters. */
export const JOLIET_MAX_NAME = 64;

// Joliet forbids these besides control characters; '/' would also split a path.
const JOLIET_FORBIDDEN = new Set(['*', '/', ':', ';', '?', '\\']);

/** validateIsoFileName throws unless name can be stored as a Joliet name in a flat root. */
export function validateIsoFileName(name: string): void {
  const shown = JSON.stringify(name);
  if (name.length === 0) throw new Error('ISO file name is empty');
  if (name.length > JOLIET_MAX_NAME) {
    throw new Error(`ISO file name ${shown} is longer than ${JOLIET_MAX_NAME} characters`);
  }
  if (name === '.' || name === '..') throw new Error(`ISO file name ${shown} is reserved`);
  for (const ch of name) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f || JOLIET_FORBIDDEN.has(ch)) {
      throw new Error(
        `ISO file name ${shown} contains the forbidden character ${JSON.stringify(ch)}`,
      );
    }
    // UCS-2 has no surrogate pairs: a character outside the BMP cannot be stored.
    if (code > 0xffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw new Error(`ISO file name ${shown} has a character outside UCS-2`);
    }
  }
}

const LEVEL1_BASE = 8;
const LEVEL1_EXT = 3;

// d-characters are A-Z, 0-9 and '_'; anything else becomes '_' (ECMA-119 7.4.1).
const dChars = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');

function splitName(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { base: dChars(name), ext: '' };
  return { base: dChars(name.slice(0, dot)), ext: dChars(name.slice(dot + 1)) };
}

/**
 * withLevel1Names gives each item a distinct level-1 file identifier ("BASE.EXT;1"), in input
 * order. An item whose mapping is taken gets a counter in the last characters of its base
 * ("META_001.;1"), as genisoimage does.
 */
export function withLevel1Names<T extends { readonly name: string }>(
  items: readonly T[],
): Array<T & { readonly level1: string }> {
  const taken = new Set<string>();
  return items.map((item) => {
    const { base, ext } = splitName(item.name);
    const shortExt = ext.slice(0, LEVEL1_EXT);
    let candidate = `${base.slice(0, LEVEL1_BASE)}.${shortExt}`;
    for (let n = 1; taken.has(candidate); n++) {
      const counter = String(n).padStart(3, '0');
      candidate = `${base.slice(0, Math.max(0, LEVEL1_BASE - counter.length))}${counter}.${shortExt}`;
    }
    taken.add(candidate);
    return { ...item, level1: `${candidate};1` };
  });
}

/**
 * compareIdentifiers orders directory records (ECMA-119 9.3). Plain code-unit order is right for
 * both trees: level-1 identifiers hold only d-characters and one '.', which sorts below every
 * d-character just as the standard's space padding of the shorter base would; Joliet names are
 * ordered by their UCS-2 code units.
 */
export function compareIdentifiers(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
