/**
 * Tagged JSON carries event payloads between replicas: plain JSON, plus the values our topics
 * hold that JSON cannot, each as an object of one tag key: `{"$date": "<ISO 8601>"}`,
 * `{"$bigint": "<digits>"}`, `{"$number": "NaN" | "Infinity" | "-Infinity"}`. Whatever JSON
 * would silently change or drop (undefined in an array, a Map, a class instance, a function, a
 * cycle) is refused when encoded, and a malformed tag when decoded. Properties that are
 * undefined are left out, as optional properties are.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const TAGS = new Set(['$date', '$bigint', '$number']);
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity']);

/** stringifyTagged encodes value as tagged JSON; it throws a TypeError on what cannot round-trip. */
export function stringifyTagged(value: unknown): string {
  return JSON.stringify(encode(value, '$', new Set()));
}

/** parseTagged decodes tagged JSON; it throws on malformed JSON or a malformed tag. */
export function parseTagged(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const entries = Object.entries(value);
    const [only] = entries;
    return entries.length === 1 && only && TAGS.has(only[0]) ? untag(only[0], only[1]) : value;
  });
}

function encode(v: unknown, path: string, ancestors: Set<object>): Json {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : { $number: String(v) };
    case 'bigint':
      return { $bigint: v.toString() };
    case 'object':
      if (v === null) return null;
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw new TypeError(`${path} is an invalid Date`);
        return { $date: v.toISOString() };
      }
      if (ancestors.has(v)) throw new TypeError(`${path} refers back to itself`);
      ancestors.add(v);
      try {
        return encodeObject(v, path, ancestors);
      } finally {
        ancestors.delete(v);
      }
    default:
      throw new TypeError(`${path} (${typeof v}) cannot be sent between replicas`);
  }
}

function encodeObject(v: object, path: string, ancestors: Set<object>): Json {
  if (Array.isArray(v)) return v.map((item, i) => encode(item, `${path}[${i}]`, ancestors));
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    const kind = v.constructor?.name ?? 'object';
    throw new TypeError(`${path} (${kind}) cannot be sent between replicas`);
  }
  const entries = Object.entries(v).filter(([, value]) => value !== undefined);
  const [only] = entries;
  if (entries.length === 1 && only && TAGS.has(only[0])) {
    throw new TypeError(`${path} has the single key ${only[0]}, which tagged JSON reserves`);
  }
  return Object.fromEntries(
    entries.map(([k, value]) => [k, encode(value, `${path}.${k}`, ancestors)]),
  );
}

function untag(tag: string, value: unknown): Date | bigint | number {
  if (typeof value === 'string') {
    if (tag === '$date') {
      const d = new Date(value);
      if (!Number.isNaN(d.getTime()) && d.toISOString() === value) return d;
    }
    if (tag === '$bigint' && /^-?\d+$/.test(value)) return BigInt(value);
    if (tag === '$number' && NON_FINITE.has(value)) return Number(value);
  }
  const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value;
  throw new TypeError(`malformed ${tag} in tagged JSON: ${shown}`);
}
