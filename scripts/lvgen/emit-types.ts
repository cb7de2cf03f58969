/**
 * Emits the TypeScript declarations of one module: constants, enums (as `const` objects plus a
 * union type of their values), struct interfaces, union and typedef type aliases.
 *
 * Type mapping: int/unsigned/char/short (signed or not)/enum → number; bool → boolean;
 * hyper/unsigned hyper → bigint; float/double → number; opaque[N] and opaque<M> → Buffer;
 * string<M> → string; `T *x` → `T | null`; `T x<M>` and `T x[N]` → `T[]`; unions → a
 * discriminated union on the discriminant's field name (`{ type: 1; i: number } | ...`), a
 * `void` arm being just `{ type: N }` and a `default` arm `{ type: number; ... }`.
 */
import type {
  ConstDef,
  Decl,
  EnumDef,
  StructDef,
  TypedefDef,
  TypeSpec,
  UnionDef,
  Value,
  VoidDecl,
} from './model.ts';
import { commonPrefix, fieldName, isIdentifier } from './names.ts';
import { GenError, type Scope } from './scope.ts';

/** doc renders a one-line JSDoc comment. */
export function doc(text: string): string {
  return `/** ${text.replaceAll('*/', '*\\/')} */`;
}

const PRIMITIVE_TS: Record<string, string> = {
  int: 'number',
  uint: 'number',
  char: 'number',
  uchar: 'number',
  short: 'number',
  ushort: 'number',
  float: 'number',
  double: 'number',
  hyper: 'bigint',
  uhyper: 'bigint',
  bool: 'boolean',
};

const PRIMITIVE_XDR: Record<string, string> = {
  uint: 'unsigned int',
  uchar: 'unsigned char',
  ushort: 'unsigned short',
  uhyper: 'unsigned hyper',
};

/** tsType is the TypeScript type of one value of a TypeSpec. */
export function tsType(scope: Scope, t: TypeSpec): string {
  if (t.kind === 'primitive') return PRIMITIVE_TS[t.name] ?? 'never';
  const def = scope.lookup(t.name);
  return def.kind === 'enum' ? 'number' : scope.tsName(t.name);
}

/** tsDeclType is the TypeScript type of a declared field. */
export function tsDeclType(scope: Scope, d: Decl): string {
  switch (d.kind) {
    case 'scalar':
      return tsType(scope, d.type);
    case 'optional':
      return `${tsType(scope, d.type)} | null`;
    case 'fixedArray':
    case 'varArray': {
      const el = tsType(scope, d.type);
      return /[ |]/.test(el) ? `(${el})[]` : `${el}[]`;
    }
    case 'fixedOpaque':
    case 'varOpaque':
      return 'Buffer';
    case 'string':
      return 'string';
  }
}

function valueText(v: Value | null): string {
  if (v === null) return '';
  return v.kind === 'literal' ? v.text : v.name;
}

/** declText renders a declaration as the .x spells it (for doc comments). */
export function declText(d: Decl | VoidDecl): string {
  if (d.kind === 'void') return 'void';
  const typeText = (t: TypeSpec): string =>
    t.kind === 'named' ? t.name : (PRIMITIVE_XDR[t.name] ?? t.name);
  switch (d.kind) {
    case 'scalar':
      return `${typeText(d.type)} ${d.name}`;
    case 'optional':
      return `${typeText(d.type)} *${d.name}`;
    case 'fixedArray':
      return `${typeText(d.type)} ${d.name}[${valueText(d.size)}]`;
    case 'varArray':
      return `${typeText(d.type)} ${d.name}<${valueText(d.max)}>`;
    case 'fixedOpaque':
      return `opaque ${d.name}[${valueText(d.size)}]`;
    case 'varOpaque':
      return `opaque ${d.name}<${valueText(d.max)}>`;
    case 'string':
      return `string ${d.name}<${valueText(d.max)}>`;
  }
}

export function emitConst(scope: Scope, c: ConstDef): string {
  return `${doc(c.name)}\nexport const ${c.name} = ${scope.ref(c.value)};\n`;
}

/**
 * enumMemberNames maps each member to its name in the generated object: without `prefix` when
 * given (a procedure enum's REMOTE_PROC_), else without the prefix common to all members.
 */
export function enumMemberNames(
  e: EnumDef,
  prefix = commonPrefix(e.members.map((m) => m.name)),
): Map<string, string> {
  if (!e.members.every((m) => m.name.startsWith(prefix) && m.name.length > prefix.length)) {
    throw new GenError(`enum ${e.name}: not every member starts with ${prefix}`);
  }
  return new Map(e.members.map((m) => [m.name, m.name.slice(prefix.length)]));
}

export function emitEnum(scope: Scope, e: EnumDef, prefix?: string): string {
  const name = scope.tsName(e.name);
  const names = enumMemberNames(e, prefix);
  const lines = [doc(e.name), `export const ${name} = {`];
  for (const m of e.members) {
    const key = names.get(m.name) ?? m.name;
    lines.push(doc(m.name), `${isIdentifier(key) ? key : JSON.stringify(key)}: ${m.value},`);
  }
  lines.push(
    '} as const;',
    doc(e.name),
    `export type ${name} = (typeof ${name})[keyof typeof ${name}];`,
  );
  return `${lines.join('\n')}\n`;
}

export function emitStructType(scope: Scope, s: StructDef): string {
  const name = scope.tsName(s.name);
  if (s.fields.length === 0) {
    return `${doc(s.name)}\nexport type ${name} = Record<string, never>;\n`;
  }
  const lines = [doc(s.name), `export interface ${name} {`];
  for (const f of s.fields) {
    lines.push(doc(declText(f)), `${fieldName(f.name)}: ${tsDeclType(scope, f)};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** UnionArm is one arm of a union with its discriminant values resolved. */
export interface UnionArm {
  /** values are the discriminant values; null for the default arm. */
  readonly values: readonly number[] | null;
  readonly decl: Decl | VoidDecl;
}

/** unionArms resolves the case labels of a union, rejecting unknown or repeated ones. */
export function unionArms(scope: Scope, u: UnionDef): UnionArm[] {
  const seen = new Set<number>();
  const arms: UnionArm[] = u.cases.map((c) => ({
    values: c.values.map((v) => {
      if (v.kind === 'ref') scope.noteHeaderConstant(v.name);
      const n = scope.value(v);
      if (seen.has(n)) throw new GenError(`union ${u.name}: case ${n} appears twice`);
      seen.add(n);
      return n;
    }),
    decl: c.decl,
  }));
  if (u.defaultArm !== null) arms.push({ values: null, decl: u.defaultArm });
  return arms;
}

/** discriminantKind is how the discriminant is sent: a signed or unsigned word. */
export function discriminantKind(scope: Scope, u: UnionDef): 'int' | 'uint' {
  let t: TypeSpec = u.discriminant.type;
  for (;;) {
    if (t.kind === 'primitive') {
      if (t.name === 'int') return 'int';
      if (t.name === 'uint') return 'uint';
      throw new GenError(`union ${u.name}: discriminant type ${t.name} is not supported`);
    }
    const def = scope.lookup(t.name);
    if (def.kind === 'enum') return 'int';
    if (def.kind === 'typedef' && def.decl.kind === 'scalar') {
      t = def.decl.type;
      continue;
    }
    throw new GenError(`union ${u.name}: discriminant type ${t.name} is not supported`);
  }
}

export function emitUnionType(scope: Scope, u: UnionDef): string {
  const name = scope.tsName(u.name);
  const disc = fieldName(u.discriminant.name);
  const variants = unionArms(scope, u).map((arm) => {
    const d = arm.values === null ? 'number' : arm.values.join(' | ');
    const field =
      arm.decl.kind === 'void'
        ? ''
        : `; ${fieldName(arm.decl.name)}: ${tsDeclType(scope, arm.decl)}`;
    return `| { ${disc}: ${d}${field} }`;
  });
  return `${doc(u.name)}\nexport type ${name} =\n${variants.join('\n')};\n`;
}

export function emitTypedefType(scope: Scope, t: TypedefDef): string {
  return `${doc(`typedef ${declText(t.decl)}`)}\nexport type ${scope.tsName(t.name)} = ${tsDeclType(scope, t.decl)};\n`;
}
