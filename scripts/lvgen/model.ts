/**
 * The parsed form of one XDR / rpcgen protocol file (`.x`). Plain data: the parser builds it,
 * the emitters read it, nothing mutates it afterwards.
 */

/** The built-in XDR types. `char`/`short` (signed or not) are sent as full 4-byte words. */
export type PrimitiveName =
  | 'int'
  | 'uint'
  | 'hyper'
  | 'uhyper'
  | 'bool'
  | 'float'
  | 'double'
  | 'char'
  | 'uchar'
  | 'short'
  | 'ushort';

/** TypeSpec names the element type of a declaration: a built-in or a defined name. */
export type TypeSpec =
  | { readonly kind: 'primitive'; readonly name: PrimitiveName }
  | { readonly kind: 'named'; readonly name: string };

/** Value is a constant expression: a number literal or a reference to a constant. */
export type Value =
  | { readonly kind: 'literal'; readonly value: number; readonly text: string }
  | { readonly kind: 'ref'; readonly name: string };

/**
 * Decl is one declaration (struct field, union arm, typedef body). `max: null` means unbounded
 * (`T x<>`, `string s<>`).
 */
export type Decl =
  | { readonly kind: 'scalar'; readonly name: string; readonly type: TypeSpec }
  | { readonly kind: 'optional'; readonly name: string; readonly type: TypeSpec }
  | {
      readonly kind: 'fixedArray';
      readonly name: string;
      readonly type: TypeSpec;
      readonly size: Value;
    }
  | {
      readonly kind: 'varArray';
      readonly name: string;
      readonly type: TypeSpec;
      readonly max: Value | null;
    }
  | { readonly kind: 'fixedOpaque'; readonly name: string; readonly size: Value }
  | { readonly kind: 'varOpaque'; readonly name: string; readonly max: Value | null }
  | { readonly kind: 'string'; readonly name: string; readonly max: Value | null };

/** VoidDecl is the `void` arm of a union. */
export interface VoidDecl {
  readonly kind: 'void';
}

/** Annotation is one `@key: value` line of a doc comment (`@readstream: 1`). */
export interface Annotation {
  readonly key: string;
  readonly value: string;
}

export interface ConstDef {
  readonly kind: 'const';
  readonly name: string;
  readonly value: Value;
}

export interface EnumMember {
  readonly name: string;
  /** value is resolved: explicit, implicit (previous + 1) or through a constant reference. */
  readonly value: number;
  /** annotations come from the `/** ... *\/` comment just before the member. */
  readonly annotations: readonly Annotation[];
}

export interface EnumDef {
  readonly kind: 'enum';
  readonly name: string;
  readonly members: readonly EnumMember[];
}

export interface StructDef {
  readonly kind: 'struct';
  readonly name: string;
  readonly fields: readonly Decl[];
}

/** UnionCase is one arm: several `case` labels may share it. */
export interface UnionCase {
  readonly values: readonly Value[];
  readonly decl: Decl | VoidDecl;
}

export interface UnionDef {
  readonly kind: 'union';
  readonly name: string;
  readonly discriminant: { readonly name: string; readonly type: TypeSpec };
  readonly cases: readonly UnionCase[];
  /** defaultArm is the `default:` arm, null when there is none. */
  readonly defaultArm: Decl | VoidDecl | null;
}

/** TypedefDef is `typedef <decl>;`, its decl's name being the new type's name. */
export interface TypedefDef {
  readonly kind: 'typedef';
  readonly name: string;
  readonly decl: Decl;
}

export type Definition = ConstDef | EnumDef | StructDef | UnionDef | TypedefDef;

export interface ProtocolFile {
  /** file is the base name, `remote_protocol.x`. */
  readonly file: string;
  readonly definitions: readonly Definition[];
}
