// Hostile values for GraphQL arguments, generated from the schema's own input types: the right
// shape with nasty contents (strings that break parsers, paths, SQL, huge or edge numbers, long
// lists, ids of other types), and now and then a value of the wrong type altogether.
import fc from 'fast-check';
import {
  type GraphQLArgument,
  type GraphQLInputType,
  type GraphQLOutputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql';

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\u202e\u0041',
  '💥'.repeat(50),
  '../../../../etc/passwd',
  '/etc/shadow',
  "'; DROP TABLE vms; --",
  '" OR 1=1 --',
  '%s%s%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${jndi:ldap://127.0.0.1/x}',
  '<script>alert(1)</script>',
  ']]><x/>',
  '\n\r\t',
  '-1',
  'NaN',
  '1e309',
  'null',
  '__proto__',
  'constructor',
  'x'.repeat(70_000),
];

const NASTY_INTS = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31 - 2];
const NASTY_FLOATS = [0, -0, 1e-308, 1e308, -1e308, 0.1, 2 ** 53 + 1];
const NASTY_DATES = [
  '1970-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '+275760-09-13T00:00:00Z',
  '2026-02-30T00:00:00Z',
  'yesterday',
  '',
];
const NASTY_BIGINTS = ['0', '-1', '18446744073709551616', '-9223372036854775809', '1.5', 'x'];

/** hostileString is any string, or one of the classics that break code that trusts input. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
);

/** strayIds makes Relay-style ids (base64 of `Type:id`) that point nowhere or at the wrong type. */
export function strayIds(types: readonly string[]): string[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    ...types.map((t) => b64(`${t}:${crypto.randomUUID()}`)),
    ...types.map((t) => b64(`${t}:not-a-uuid`)),
    ...types.map((t) => b64(`${t}:`)),
    b64('Nope:00000000-0000-0000-0000-000000000000'),
    b64(''),
    b64(':'),
    'Vm:00000000-0000-0000-0000-000000000000',
    '!!!not base64!!!',
  ];
}

function scalar(name: string, ids: readonly string[]): fc.Arbitrary<unknown> {
  switch (name) {
    case 'String':
      return hostileString;
    case 'ID':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...ids) },
        { weight: 1, arbitrary: hostileString },
      );
    case 'Int':
      return fc.oneof(fc.integer(), fc.constantFrom(...NASTY_INTS));
    case 'Float':
      return fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(...NASTY_FLOATS),
      );
    case 'Boolean':
      return fc.boolean();
    case 'DateTime':
      return fc.oneof(
        fc.constantFrom(...NASTY_DATES),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      );
    case 'BigInt':
      return fc.oneof(fc.constantFrom(...NASTY_BIGINTS), fc.bigInt().map(String), fc.integer());
    default:
      // Upload and anything new: something of every kind.
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * hostileValue is an arbitrary value for `type`: well-typed (null allowed where the type allows it,
 * @oneOf inputs given one field) but hostile inside.
 */
export function hostileValue(
  type: GraphQLInputType,
  ids: readonly string[],
  depth = 0,
): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return wellTyped(type.ofType, ids, depth);
  const inner = wellTyped(type, ids, depth);
  return fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 5, arbitrary: inner });
}

function wellTyped(
  type: GraphQLInputType,
  ids: readonly string[],
  depth: number,
): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return wellTyped(type.ofType, ids, depth);
  if (isListType(type)) {
    const item = hostileValue(type.ofType, ids, depth + 1);
    return fc.oneof(
      { weight: 6, arbitrary: fc.array(item, { maxLength: 4 }) },
      // Long lists: one small element repeated, so the body stays under its 1 MiB limit (a
      // larger body is refused before it is read, which the client sees as a reset).
      {
        weight: 1,
        arbitrary: item
          .filter((v) => (JSON.stringify(v) ?? '').length <= 200)
          .map((v) => Array.from({ length: 3000 }, () => v)),
      },
    );
  }
  if (isEnumType(type)) {
    return fc.constantFrom(...type.getValues().map((v) => v.name));
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    const arbs = Object.fromEntries(
      fields.map((f) => [
        f.name,
        depth > 4 ? fc.constant(null) : hostileValue(f.type, ids, depth + 1),
      ]),
    );
    if (type.isOneOf) {
      return fc
        .constantFrom(...fields)
        .chain((f) => (arbs[f.name] as fc.Arbitrary<unknown>).map((v) => ({ [f.name]: v })));
    }
    const requiredKeys = fields
      .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
      .map((f) => f.name);
    return fc.record(arbs, { requiredKeys });
  }
  return scalar(getNamedType(type).name, ids);
}

/**
 * argumentsOf is an arbitrary variables object for a field's arguments (`a0`, `a1`...): mostly
 * well-typed and hostile, sometimes with one argument of the wrong type entirely.
 */
export function argumentsOf(
  args: readonly GraphQLArgument[],
  ids: readonly string[],
): fc.Arbitrary<Record<string, unknown>> {
  const wellTyped = fc.record(
    Object.fromEntries(args.map((a, i) => [`a${i}`, hostileValue(a.type, ids)])),
    { requiredKeys: args.filter((a) => isNonNullType(a.type)).map((_, i) => `a${i}`) },
  );
  if (args.length === 0) return wellTyped;
  const wrongTyped = fc
    .tuple(wellTyped, fc.nat(args.length - 1), fc.jsonValue({ maxDepth: 3 }))
    .map(([vars, i, v]) => ({ ...vars, [`a${i}`]: v }));
  return fc.oneof({ weight: 5, arbitrary: wellTyped }, { weight: 1, arbitrary: wrongTyped });
}

/**
 * selectionOf selects every field of `type` down to `depth` levels that needs no argument, and
 * `__typename` below: enough to make each resolver run on what a mutation returns.
 */
export function selectionOf(type: GraphQLOutputType, depth: number): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (depth === 0 || !(isObjectType(named) || isInterfaceType(named))) return '{ __typename }';
  const parts = ['__typename'];
  for (const f of Object.values(named.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)) continue;
    const sub = selectionOf(f.type, depth - 1);
    parts.push(sub ? `${f.name} ${sub}` : f.name);
  }
  return `{ ${parts.join(' ')} }`;
}
