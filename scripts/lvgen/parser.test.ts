import { describe, expect, it } from 'vitest';
import { parseAnnotations, tokenize, XdrSyntaxError } from './lexer.ts';
import type { Definition, EnumDef, StructDef, TypedefDef, UnionDef } from './model.ts';
import { parseProtocol } from './parser.ts';

function defs(src: string, known?: ReadonlyMap<string, number>): readonly Definition[] {
  return parseProtocol(src, { file: 'test.x', ...(known === undefined ? {} : { known }) })
    .definitions;
}

function only<K extends Definition['kind']>(
  src: string,
  kind: K,
  known?: ReadonlyMap<string, number>,
): Extract<Definition, { kind: K }> {
  const all = defs(src, known).filter(
    (d): d is Extract<Definition, { kind: K }> => d.kind === kind,
  );
  const d = all[0];
  if (d === undefined || all.length !== 1) throw new Error(`expected exactly one ${kind}`);
  return d;
}

describe('lexer', () => {
  it('skips comments and %passthrough lines, keeps doc comments on the next token', () => {
    const toks = tokenize(
      '%#include "x.h"\n/* plain */ const A = 0x10; // line\n/**\n * @generate: both\n * @readstream: 1\n */\nB',
    );
    expect(toks.map((t) => t.text)).toEqual(['const', 'A', '=', '0x10', ';', 'B', '']);
    expect(toks[3]?.value).toBe(16);
    expect(toks[0]?.doc).toBeNull();
    expect(parseAnnotations(toks[5]?.doc ?? null)).toEqual([
      { key: 'generate', value: 'both' },
      { key: 'readstream', value: '1' },
    ]);
    expect(toks[5]?.line).toBe(7);
  });

  it('reads negative, octal and hex numbers and rejects junk', () => {
    const toks = tokenize('-5 010 0xFF');
    expect(toks.slice(0, 3).map((t) => t.value)).toEqual([-5, 8, 255]);
    expect(() => tokenize('const a = 1 $;')).toThrow(XdrSyntaxError);
    expect(() => tokenize('/* open')).toThrow(/unterminated comment/);
  });
});

describe('parser', () => {
  it('parses a struct with every kind of declaration', () => {
    const s: StructDef = only(
      `const MAX = 16;
       struct remote_thing {
         int a;
         unsigned b;
         unsigned int c;
         unsigned hyper d;
         hyper e;
         unsigned char f;
         char model[32];
         unsigned short g;
         short h;
         bool i;
         float j;
         double k;
         opaque uuid[MAX];
         opaque cookie<MAX>;
         opaque any<>;
         string name<MAX>;
         string free<>;
         remote_other *opt;
         remote_other list<MAX>;
         remote_other fixed[4];
         struct remote_other tagged;
       };`,
      'struct',
    );
    expect(s.name).toBe('remote_thing');
    expect(s.fields).toEqual([
      { kind: 'scalar', name: 'a', type: { kind: 'primitive', name: 'int' } },
      { kind: 'scalar', name: 'b', type: { kind: 'primitive', name: 'uint' } },
      { kind: 'scalar', name: 'c', type: { kind: 'primitive', name: 'uint' } },
      { kind: 'scalar', name: 'd', type: { kind: 'primitive', name: 'uhyper' } },
      { kind: 'scalar', name: 'e', type: { kind: 'primitive', name: 'hyper' } },
      { kind: 'scalar', name: 'f', type: { kind: 'primitive', name: 'uchar' } },
      {
        kind: 'fixedArray',
        name: 'model',
        type: { kind: 'primitive', name: 'char' },
        size: { kind: 'literal', value: 32, text: '32' },
      },
      { kind: 'scalar', name: 'g', type: { kind: 'primitive', name: 'ushort' } },
      { kind: 'scalar', name: 'h', type: { kind: 'primitive', name: 'short' } },
      { kind: 'scalar', name: 'i', type: { kind: 'primitive', name: 'bool' } },
      { kind: 'scalar', name: 'j', type: { kind: 'primitive', name: 'float' } },
      { kind: 'scalar', name: 'k', type: { kind: 'primitive', name: 'double' } },
      { kind: 'fixedOpaque', name: 'uuid', size: { kind: 'ref', name: 'MAX' } },
      { kind: 'varOpaque', name: 'cookie', max: { kind: 'ref', name: 'MAX' } },
      { kind: 'varOpaque', name: 'any', max: null },
      { kind: 'string', name: 'name', max: { kind: 'ref', name: 'MAX' } },
      { kind: 'string', name: 'free', max: null },
      { kind: 'optional', name: 'opt', type: { kind: 'named', name: 'remote_other' } },
      {
        kind: 'varArray',
        name: 'list',
        type: { kind: 'named', name: 'remote_other' },
        max: { kind: 'ref', name: 'MAX' },
      },
      {
        kind: 'fixedArray',
        name: 'fixed',
        type: { kind: 'named', name: 'remote_other' },
        size: { kind: 'literal', value: 4, text: '4' },
      },
      { kind: 'scalar', name: 'tagged', type: { kind: 'named', name: 'remote_other' } },
    ]);
  });

  it('parses a union with shared cases, a void arm and a default', () => {
    const u: UnionDef = only(
      `union u switch (int type) {
        case 1:
        case ONE_MORE:
          int i;
        case 3:
          void;
        default:
          string s<>;
      };`,
      'union',
    );
    expect(u.discriminant).toEqual({ name: 'type', type: { kind: 'primitive', name: 'int' } });
    expect(u.cases).toEqual([
      {
        values: [
          { kind: 'literal', value: 1, text: '1' },
          { kind: 'ref', name: 'ONE_MORE' },
        ],
        decl: { kind: 'scalar', name: 'i', type: { kind: 'primitive', name: 'int' } },
      },
      { values: [{ kind: 'literal', value: 3, text: '3' }], decl: { kind: 'void' } },
    ]);
    expect(u.defaultArm).toEqual({ kind: 'string', name: 's', max: null });
  });

  it('parses a union switching on an enum type without a default', () => {
    const u: UnionDef = only(
      'enum color { RED, GREEN }; union u switch (color c) { case RED: void; case GREEN: hyper h; };',
      'union',
    );
    expect(u.discriminant.type).toEqual({ kind: 'named', name: 'color' });
    expect(u.defaultArm).toBeNull();
    expect(u.cases).toHaveLength(2);
  });

  it('resolves enum values: implicit, explicit, constants, members and known names', () => {
    const e: EnumDef = only(
      `const BASE = 10;
       enum remote_e {
         /** @generate: both
          * @acl: domain:read
          * @acl: domain:write */
         E_A,
         E_B,
         E_C = BASE,
         E_D,
         E_E = E_B,
         E_F = 0x20,
         E_G = HEADER_CONST,
         E_H,
       };`,
      'enum',
      new Map([['HEADER_CONST', 100]]),
    );
    expect(e.members.map((m) => [m.name, m.value])).toEqual([
      ['E_A', 0],
      ['E_B', 1],
      ['E_C', 10],
      ['E_D', 11],
      ['E_E', 1],
      ['E_F', 32],
      ['E_G', 100],
      ['E_H', 101],
    ]);
    expect(e.members[0]?.annotations).toEqual([
      { key: 'generate', value: 'both' },
      { key: 'acl', value: 'domain:read' },
      { key: 'acl', value: 'domain:write' },
    ]);
    expect(e.members[1]?.annotations).toEqual([]);
  });

  it('rejects an enum value naming an unknown constant', () => {
    expect(() => defs('enum e { A = NOPE };')).toThrow(
      /test\.x:1:14: enum value must be a known constant/,
    );
  });

  it('parses typedefs of strings, optionals, opaques and arrays', () => {
    const ts = defs(
      `typedef string remote_nonnull_string<REMOTE_STRING_MAX>;
       typedef remote_nonnull_string *remote_string;
       typedef opaque remote_uuid[VIR_UUID_BUFLEN];
       typedef int ints<>;`,
    ) as TypedefDef[];
    expect(ts.map((t) => [t.name, t.decl.kind])).toEqual([
      ['remote_nonnull_string', 'string'],
      ['remote_string', 'optional'],
      ['remote_uuid', 'fixedOpaque'],
      ['ints', 'varArray'],
    ]);
    expect(ts[1]?.decl).toEqual({
      kind: 'optional',
      name: 'remote_string',
      type: { kind: 'named', name: 'remote_nonnull_string' },
    });
  });

  it('keeps constants as written, including references', () => {
    expect(defs('const A = 0x20008086; const B = A; const C=-1;')).toEqual([
      {
        kind: 'const',
        name: 'A',
        value: { kind: 'literal', value: 0x20008086, text: '0x20008086' },
      },
      { kind: 'const', name: 'B', value: { kind: 'ref', name: 'A' } },
      { kind: 'const', name: 'C', value: { kind: 'literal', value: -1, text: '-1' } },
    ]);
  });

  it('reports syntax errors with file, line and column', () => {
    expect(() => defs('struct s {\n  int a\n};')).toThrow(/test\.x:3:1: expected ; \(at "}"\)/);
    expect(() => defs('struct s { void x; };')).toThrow(/void is only allowed as a union arm/);
    expect(() => defs('struct s { int a; int a; };')).toThrow(/two fields named a/);
    expect(() => defs('const A = 1; const A = 2;')).toThrow(/A is defined twice/);
    expect(() => defs('union u switch (int d) { };')).toThrow(/has no arms/);
    expect(() => defs('struct s { quadruple q; };')).toThrow(/quadruple is not supported/);
    expect(() => defs('program P { };')).toThrow(/expected const, typedef, enum, struct or union/);
  });
});
