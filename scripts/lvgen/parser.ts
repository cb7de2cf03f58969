/**
 * Recursive-descent parser for the XDR language (RFC 4506 §6) plus the rpcgen extensions that
 * libvirt's .x files use. Grammar handled:
 *
 *   file        := definition*
 *   definition  := 'const' IDENT '=' value ';'
 *                | 'typedef' declaration ';'
 *                | 'enum' IDENT '{' IDENT ['=' value] (',' IDENT ['=' value])* [','] '}' ';'
 *                | 'struct' IDENT '{' (declaration ';')* '}' ';'
 *                | 'union' IDENT 'switch' '(' typeSpec IDENT ')' '{' arm* ['default' ':' armDecl ';'] '}' ';'
 *   arm         := ('case' value ':')+ armDecl ';'
 *   armDecl     := 'void' | declaration
 *   declaration := typeSpec IDENT | typeSpec IDENT '[' value ']' | typeSpec IDENT '<' [value] '>'
 *                | 'opaque' IDENT ('[' value ']' | '<' [value] '>') | 'string' IDENT '<' [value] '>'
 *                | typeSpec '*' IDENT
 *   typeSpec    := ['unsigned'] ('int' | 'hyper' | 'char' | 'short' | 'long') | 'unsigned'
 *                | 'float' | 'double' | 'bool' | ['struct' | 'union' | 'enum'] IDENT
 *   value       := NUMBER | IDENT
 *
 * Enum values are resolved while parsing (explicit, implicit = previous + 1, or a reference to
 * a constant or enum member defined earlier in the file or passed in `known`). Everything else
 * keeps its constant references; the emitter resolves them. The parser has no global state.
 */
import { parseAnnotations, type Token, tokenize, XdrSyntaxError } from './lexer.ts';
import type {
  Decl,
  Definition,
  EnumMember,
  PrimitiveName,
  ProtocolFile,
  TypeSpec,
  UnionCase,
  Value,
  VoidDecl,
} from './model.ts';

export interface ParseOptions {
  /** file names the input in error messages and in the model. */
  readonly file?: string;
  /** known holds constants defined elsewhere (other .x files, libvirt headers). */
  readonly known?: ReadonlyMap<string, number>;
}

/** Keywords that cannot name anything. */
const RESERVED = new Set([
  'bool',
  'case',
  'const',
  'default',
  'double',
  'quadruple',
  'enum',
  'float',
  'hyper',
  'int',
  'opaque',
  'string',
  'struct',
  'switch',
  'typedef',
  'union',
  'unsigned',
  'void',
  'char',
  'short',
  'long',
  'program',
  'version',
]);

/** parseProtocol parses one .x file into its model. */
export function parseProtocol(src: string, options: ParseOptions = {}): ProtocolFile {
  const file = options.file ?? '<input>';
  return new Parser(tokenize(src, file), file, options.known ?? new Map()).file();
}

class Parser {
  private readonly tokens: Token[];
  private readonly fileName: string;
  private readonly known: ReadonlyMap<string, number>;
  /** values holds the numeric value of every constant and enum member seen so far. */
  private readonly values = new Map<string, number>();
  private readonly names = new Set<string>();
  private pos = 0;

  constructor(tokens: Token[], fileName: string, known: ReadonlyMap<string, number>) {
    this.tokens = tokens;
    this.fileName = fileName;
    this.known = known;
  }

  file(): ProtocolFile {
    const definitions: Definition[] = [];
    while (this.peek().kind !== 'eof') definitions.push(this.definition());
    return { file: this.fileName, definitions };
  }

  private peek(offset = 0): Token {
    const t = this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
    if (t === undefined) throw new XdrSyntaxError(`${this.fileName}: no tokens`);
    return t;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private fail(msg: string, t: Token = this.peek()): never {
    const what = t.kind === 'eof' ? 'end of file' : JSON.stringify(t.text);
    throw new XdrSyntaxError(`${this.fileName}:${t.line}:${t.col}: ${msg} (at ${what})`);
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private isWord(text: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text === text;
  }

  private expect(text: string): Token {
    const t = this.peek();
    if (t.text !== text || (t.kind !== 'punct' && t.kind !== 'ident'))
      this.fail(`expected ${text}`);
    return this.next();
  }

  private identifier(what: string): string {
    const t = this.peek();
    if (t.kind !== 'ident' || RESERVED.has(t.text)) this.fail(`expected ${what}`);
    return this.next().text;
  }

  private define(name: string, t: Token): void {
    if (this.names.has(name)) this.fail(`${name} is defined twice`, t);
    this.names.add(name);
  }

  private definition(): Definition {
    const t = this.peek();
    if (t.kind !== 'ident') this.fail('expected a definition');
    switch (t.text) {
      case 'const':
        return this.constDef();
      case 'typedef':
        return this.typedefDef();
      case 'enum':
        return this.enumDef();
      case 'struct':
        return this.structDef();
      case 'union':
        return this.unionDef();
      default:
        return this.fail('expected const, typedef, enum, struct or union');
    }
  }

  private constDef(): Definition {
    this.expect('const');
    const at = this.peek();
    const name = this.identifier('constant name');
    this.define(name, at);
    this.expect('=');
    const value = this.value();
    this.expect(';');
    const n = this.resolve(value);
    if (n !== null) this.values.set(name, n);
    return { kind: 'const', name, value };
  }

  private typedefDef(): Definition {
    this.expect('typedef');
    const at = this.peek();
    const decl = this.declaration();
    this.expect(';');
    this.define(decl.name, at);
    return { kind: 'typedef', name: decl.name, decl };
  }

  private enumDef(): Definition {
    this.expect('enum');
    const at = this.peek();
    const name = this.identifier('enum name');
    this.define(name, at);
    this.expect('{');
    const members: EnumMember[] = [];
    let next = 0;
    for (;;) {
      const mt = this.peek();
      const member = this.identifier('enum member');
      this.define(member, mt);
      let value = next;
      if (this.isPunct('=')) {
        this.next();
        const vt = this.peek();
        const resolved = this.resolve(this.value());
        if (resolved === null) this.fail('enum value must be a known constant', vt);
        value = resolved;
      }
      this.values.set(member, value);
      members.push({ name: member, value, annotations: parseAnnotations(mt.doc) });
      next = value + 1;
      if (this.isPunct(',')) {
        this.next();
        if (this.isPunct('}')) break;
        continue;
      }
      break;
    }
    this.expect('}');
    this.expect(';');
    if (members.length === 0) this.fail(`enum ${name} has no members`, at);
    return { kind: 'enum', name, members };
  }

  private structDef(): Definition {
    this.expect('struct');
    const at = this.peek();
    const name = this.identifier('struct name');
    this.define(name, at);
    this.expect('{');
    const fields: Decl[] = [];
    while (!this.isPunct('}')) {
      fields.push(this.declaration());
      this.expect(';');
    }
    this.expect('}');
    this.expect(';');
    const seen = new Set<string>();
    for (const f of fields) {
      if (seen.has(f.name)) this.fail(`struct ${name} has two fields named ${f.name}`, at);
      seen.add(f.name);
    }
    return { kind: 'struct', name, fields };
  }

  private unionDef(): Definition {
    this.expect('union');
    const at = this.peek();
    const name = this.identifier('union name');
    this.define(name, at);
    this.expect('switch');
    this.expect('(');
    const type = this.typeSpec();
    const discName = this.identifier('discriminant name');
    this.expect(')');
    this.expect('{');
    const cases: UnionCase[] = [];
    let defaultArm: Decl | VoidDecl | null = null;
    while (!this.isPunct('}')) {
      if (this.isWord('default')) {
        if (defaultArm !== null) this.fail('second default arm');
        this.next();
        this.expect(':');
        defaultArm = this.armDecl();
        this.expect(';');
        continue;
      }
      const values: Value[] = [];
      while (this.isWord('case')) {
        this.next();
        values.push(this.value());
        this.expect(':');
      }
      if (values.length === 0) this.fail('expected case or default');
      cases.push({ values, decl: this.armDecl() });
      this.expect(';');
    }
    this.expect('}');
    this.expect(';');
    if (cases.length === 0 && defaultArm === null) this.fail(`union ${name} has no arms`, at);
    return { kind: 'union', name, discriminant: { name: discName, type }, cases, defaultArm };
  }

  private armDecl(): Decl | VoidDecl {
    if (this.isWord('void')) {
      this.next();
      return { kind: 'void' };
    }
    return this.declaration();
  }

  private declaration(): Decl {
    if (this.isWord('void')) this.fail('void is only allowed as a union arm');
    if (this.isWord('opaque')) {
      this.next();
      const name = this.identifier('field name');
      if (this.isPunct('[')) return { kind: 'fixedOpaque', name, size: this.fixedBound() };
      if (this.isPunct('<')) return { kind: 'varOpaque', name, max: this.varBound() };
      return this.fail('opaque needs [size] or <max>');
    }
    if (this.isWord('string')) {
      this.next();
      const name = this.identifier('field name');
      if (!this.isPunct('<')) this.fail('string needs <max>');
      return { kind: 'string', name, max: this.varBound() };
    }
    const type = this.typeSpec();
    if (this.isPunct('*')) {
      this.next();
      return { kind: 'optional', name: this.identifier('field name'), type };
    }
    const name = this.identifier('field name');
    if (this.isPunct('[')) return { kind: 'fixedArray', name, type, size: this.fixedBound() };
    if (this.isPunct('<')) return { kind: 'varArray', name, type, max: this.varBound() };
    return { kind: 'scalar', name, type };
  }

  private fixedBound(): Value {
    this.expect('[');
    const v = this.value();
    this.expect(']');
    return v;
  }

  private varBound(): Value | null {
    this.expect('<');
    if (this.isPunct('>')) {
      this.next();
      return null;
    }
    const v = this.value();
    this.expect('>');
    return v;
  }

  private typeSpec(): TypeSpec {
    const t = this.peek();
    if (t.kind !== 'ident') this.fail('expected a type');
    const prim = (name: PrimitiveName): TypeSpec => ({ kind: 'primitive', name });
    switch (t.text) {
      case 'unsigned': {
        this.next();
        const n = this.peek();
        const unsigned: Record<string, PrimitiveName> = {
          int: 'uint',
          long: 'uint',
          hyper: 'uhyper',
          char: 'uchar',
          short: 'ushort',
        };
        const name = n.kind === 'ident' ? unsigned[n.text] : undefined;
        if (name === undefined) return prim('uint'); // plain `unsigned` is `unsigned int`
        this.next();
        return prim(name);
      }
      case 'int':
      case 'long':
        this.next();
        return prim('int');
      case 'hyper':
      case 'char':
      case 'short':
      case 'float':
      case 'double':
      case 'bool':
        this.next();
        return prim(t.text);
      case 'quadruple':
        return this.fail('quadruple is not supported');
      case 'struct':
      case 'union':
      case 'enum':
        // `struct foo x;` names a type defined elsewhere; inline bodies are not supported.
        this.next();
        if (this.isPunct('{') || this.isWord('switch'))
          this.fail('inline type definitions are not supported');
        return { kind: 'named', name: this.identifier('type name') };
      default:
        return { kind: 'named', name: this.identifier('type name') };
    }
  }

  private value(): Value {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      return { kind: 'literal', value: t.value, text: t.text };
    }
    if (t.kind === 'ident' && !RESERVED.has(t.text)) {
      this.next();
      return { kind: 'ref', name: t.text };
    }
    return this.fail('expected a number or a constant');
  }

  /** resolve returns the numeric value of v, or null for a name not known (yet). */
  private resolve(v: Value): number | null {
    if (v.kind === 'literal') return v.value;
    return this.values.get(v.name) ?? this.known.get(v.name) ?? null;
  }
}
