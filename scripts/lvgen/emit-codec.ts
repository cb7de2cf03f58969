/**
 * Emits the encoders and decoders of one module: for every struct, union and typedef T an
 * `encodeT(w, v)` and a `decodeT(r)`, written out field by field. Typedefs are inlined where they
 * are used (so `remote_string` costs no call); structs and unions are called by name. Arrays go
 * through small per-element-type helpers (`readListT`, `writeListT`, `readFixedT`,
 * `writeFixedT`) that are private to the module. Bounded strings, opaques and arrays pass their
 * bound constant; unbounded ones pass nothing.
 */

import { declText, discriminantKind, doc, tsDeclType, unionArms } from './emit-types.ts';
import type {
  Decl,
  PrimitiveName,
  StructDef,
  TypedefDef,
  TypeSpec,
  UnionDef,
  Value,
} from './model.ts';
import { fieldName } from './names.ts';
import { GenError, type Scope } from './scope.ts';

const READ: Record<PrimitiveName, string> = {
  int: 'int',
  char: 'int',
  short: 'int',
  uint: 'uint',
  uchar: 'uint',
  ushort: 'uint',
  hyper: 'hyper',
  uhyper: 'uhyper',
  bool: 'bool',
  float: 'float',
  double: 'double',
};

function paren(expr: string): string {
  return expr.includes('?') ? `(${expr})` : expr;
}

/** CodecEmitter builds the codec source of one module; helpers accumulate as they are needed. */
export class CodecEmitter {
  private readonly scope: Scope;
  private readonly helpers = new Map<string, string>();

  constructor(scope: Scope) {
    this.scope = scope;
  }

  /** helperSource returns the array helpers used so far, sorted by name. */
  helperSource(): string {
    return [...this.helpers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, src]) => src)
      .join('\n');
  }

  struct(s: StructDef): string {
    const name = this.scope.tsName(s.name);
    const enc = s.fields.flatMap((f) => this.encodeDecl(f, `v.${fieldName(f.name)}`));
    const dec = s.fields.map((f) => `${fieldName(f.name)}: ${this.decodeDecl(f)},`);
    const vParam = s.fields.length === 0 ? '_v' : 'v';
    const wParam = s.fields.length === 0 ? '_w' : 'w';
    const rParam = s.fields.length === 0 ? '_r' : 'r';
    return [
      doc(`Encodes ${s.name}.`),
      `export function encode${name}(${wParam}: XdrWriter, ${vParam}: ${name}): void {`,
      ...enc,
      '}',
      '',
      doc(`Decodes ${s.name}.`),
      `export function decode${name}(${rParam}: XdrReader): ${name} {`,
      `return {`,
      ...dec,
      '};',
      '}',
      '',
    ].join('\n');
  }

  typedef(t: TypedefDef): string {
    const name = this.scope.tsName(t.name);
    return [
      doc(`Encodes typedef ${declText(t.decl)}.`),
      `export function encode${name}(w: XdrWriter, v: ${name}): void {`,
      ...this.encodeDecl(t.decl, 'v'),
      '}',
      '',
      doc(`Decodes typedef ${declText(t.decl)}.`),
      `export function decode${name}(r: XdrReader): ${name} {`,
      `return ${this.decodeDecl(t.decl)};`,
      '}',
      '',
    ].join('\n');
  }

  union(u: UnionDef): string {
    const name = this.scope.tsName(u.name);
    const disc = fieldName(u.discriminant.name);
    const word = discriminantKind(this.scope, u);
    const enc: string[] = [];
    const dec: string[] = [];
    const arms = unionArms(this.scope, u);
    // With a default arm, `{ d: number; ... }` overlaps every case, so the switch cannot narrow
    // the value: each arm then checks its field is there (`'i' in v`) before using it.
    const hasDefault = arms.some((arm) => arm.values === null);
    for (const arm of arms) {
      const labels = arm.values === null ? ['default:'] : arm.values.map((n) => `case ${n}:`);
      const armField = arm.decl.kind === 'void' ? null : fieldName(arm.decl.name);
      if (armField === disc)
        throw new GenError(`union ${u.name}: arm ${armField} shadows the discriminant`);
      const encArm = arm.decl.kind === 'void' ? [] : this.encodeDecl(arm.decl, `v.${armField}`);
      if (hasDefault && armField !== null) encArm.unshift(`if (!('${armField}' in v)) break;`);
      enc.push(...labels, ...encArm, 'return;');
      const discValue =
        arm.values === null
          ? 'd'
          : arm.values.length === 1
            ? String(arm.values[0])
            : `d as ${arm.values.join(' | ')}`;
      const field = arm.decl.kind === 'void' ? '' : `, ${armField}: ${this.decodeDecl(arm.decl)}`;
      dec.push(...labels, `return { ${disc}: ${discValue}${field} };`);
    }
    const bad = `throw new XdrError(\`${u.name}: unknown ${u.discriminant.name} \${d}\`);`;
    const mismatch = `throw new XdrError(\`${u.name}: the value does not fit ${u.discriminant.name} \${d}\`);`;
    return [
      doc(`Encodes union ${u.name}.`),
      `export function encode${name}(w: XdrWriter, v: ${name}): void {`,
      `const d: number = v.${disc};`,
      `w.${word}(d);`,
      `switch (v.${disc}) {`,
      ...enc,
      '}',
      hasDefault ? mismatch : bad,
      '}',
      '',
      doc(`Decodes union ${u.name}.`),
      `export function decode${name}(r: XdrReader): ${name} {`,
      `const d = r.${word}();`,
      'switch (d) {',
      ...dec,
      ...(hasDefault ? [] : ['default:', bad]),
      '}',
      '}',
      '',
    ].join('\n');
  }

  /** decodeDecl is the expression reading one declared value from `r`. */
  decodeDecl(d: Decl): string {
    const s = this.scope;
    const max = (v: Value | null): string => (v === null ? '' : s.ref(v));
    switch (d.kind) {
      case 'scalar':
        return this.decodeType(d.type);
      case 'optional':
        return `r.optional() ? ${paren(this.decodeType(d.type))} : null`;
      case 'fixedArray':
        return `${this.arrayHelper('readFixed', d.type)}(r, ${s.ref(d.size)})`;
      case 'varArray': {
        const bound = max(d.max);
        return `${this.arrayHelper('readList', d.type)}(r${bound === '' ? '' : `, ${bound}`})`;
      }
      case 'fixedOpaque':
        return `r.fixedOpaque(${s.ref(d.size)})`;
      case 'varOpaque':
        return `r.varOpaque(${max(d.max)})`;
      case 'string':
        return `r.string(${max(d.max)})`;
    }
  }

  /** encodeDecl is the statements writing the declared value `expr` to `w`. */
  encodeDecl(d: Decl, expr: string): string[] {
    const s = this.scope;
    const bound = (v: Value | null): string => (v === null ? '' : `, ${s.ref(v)}`);
    switch (d.kind) {
      case 'scalar':
        return this.encodeType(d.type, expr);
      case 'optional':
        return [
          `if (${expr} === null) {`,
          'w.uint(0);',
          '} else {',
          'w.uint(1);',
          ...this.encodeType(d.type, expr),
          '}',
        ];
      case 'fixedArray':
        return [`${this.arrayHelper('writeFixed', d.type)}(w, ${expr}, ${s.ref(d.size)});`];
      case 'varArray':
        return [`${this.arrayHelper('writeList', d.type)}(w, ${expr}${bound(d.max)});`];
      case 'fixedOpaque':
        return [`w.fixedOpaque(${expr}, ${s.ref(d.size)});`];
      case 'varOpaque':
        return [`w.varOpaque(${expr}${bound(d.max)});`];
      case 'string':
        return [`w.string(${expr}${bound(d.max)});`];
    }
  }

  private decodeType(t: TypeSpec): string {
    if (t.kind === 'primitive') return `r.${READ[t.name]}()`;
    const def = this.scope.lookup(t.name);
    if (def.kind === 'enum') return 'r.int()';
    if (def.kind === 'typedef') return this.decodeDecl(def.decl);
    return `${this.scope.codec('decode', t.name)}(r)`;
  }

  private encodeType(t: TypeSpec, expr: string): string[] {
    if (t.kind === 'primitive') return [`w.${READ[t.name]}(${expr});`];
    const def = this.scope.lookup(t.name);
    if (def.kind === 'enum') return [`w.int(${expr});`];
    if (def.kind === 'typedef') return this.encodeDecl(def.decl, expr);
    return [`${this.scope.codec('encode', t.name)}(w, ${expr});`];
  }

  /** arrayHelper returns the name of an array helper for element type t, emitting it once. */
  private arrayHelper(
    kind: 'readList' | 'writeList' | 'readFixed' | 'writeFixed',
    t: TypeSpec,
  ): string {
    const elName =
      t.kind === 'primitive'
        ? t.name.charAt(0).toUpperCase() + t.name.slice(1)
        : this.scope.tsName(t.name);
    const name = `${kind}${elName}`;
    if (this.helpers.has(name)) return name;
    this.helpers.set(name, '');
    const el = tsDeclType(this.scope, { kind: 'scalar', name: 'e', type: t });
    const arr = /[ |]/.test(el) ? `(${el})[]` : `${el}[]`;
    let src: string;
    switch (kind) {
      case 'readList':
        src = [
          `function ${name}(r: XdrReader, max?: number): ${arr} {`,
          'const n = r.count(max);',
          `const v: ${arr} = [];`,
          `for (let i = 0; i < n; i++) v.push(${this.decodeType(t)});`,
          'return v;',
          '}',
        ].join('\n');
        break;
      case 'readFixed':
        src = [
          `function ${name}(r: XdrReader, n: number): ${arr} {`,
          `const v: ${arr} = [];`,
          `for (let i = 0; i < n; i++) v.push(${this.decodeType(t)});`,
          'return v;',
          '}',
        ].join('\n');
        break;
      case 'writeList':
        src = [
          `function ${name}(w: XdrWriter, v: ${arr}, max?: number): void {`,
          'w.count(v.length, max);',
          'for (const e of v) {',
          ...this.encodeType(t, 'e'),
          '}',
          '}',
        ].join('\n');
        break;
      case 'writeFixed':
        src = [
          `function ${name}(w: XdrWriter, v: ${arr}, n: number): void {`,
          `if (v.length !== n) throw new XdrError(\`fixed array needs \${n} elements, got \${v.length}\`);`,
          'for (const e of v) {',
          ...this.encodeType(t, 'e'),
          '}',
          '}',
        ].join('\n');
        break;
    }
    this.helpers.set(name, `${src}\n`);
    return name;
  }
}
