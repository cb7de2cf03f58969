/**
 * Scope resolves names while one module is emitted: types and constants of its own .x file, of
 * the modules it depends on (recording what must be imported), and of libvirt's headers
 * (recording which must be defined locally). One Scope per emitted module; no global state.
 */
import type { ModuleConfig } from './config.ts';
import { type ExternalConstant, LIBVIRT_HEADER_CONSTANTS } from './externals.ts';
import type { EnumDef, ProtocolFile, StructDef, TypedefDef, UnionDef, Value } from './model.ts';
import { typeName } from './names.ts';

export interface Module {
  readonly config: ModuleConfig;
  readonly spec: ProtocolFile;
}

export type TypeDefinition = StructDef | UnionDef | TypedefDef | EnumDef;

/** GenError reports a .x construct the generator cannot map. */
export class GenError extends Error {
  override readonly name = 'GenError';
}

interface ConstEntry {
  readonly module: Module | null;
  /** value: a Value to evaluate (constants) or a number (enum members, headers). */
  readonly value: Value | number;
  readonly isEnumMember: boolean;
}

interface ImportSet {
  readonly values: Set<string>;
  readonly types: Set<string>;
}

export class Scope {
  readonly module: Module;
  private readonly types = new Map<string, { def: TypeDefinition; module: Module }>();
  private readonly consts = new Map<string, ConstEntry>();
  private readonly imported = new Map<string, ImportSet>();
  /** headerConstants lists the libvirt header constants this module uses, by name. */
  readonly headerConstants = new Map<string, ExternalConstant>();

  constructor(module: Module, deps: readonly Module[]) {
    this.module = module;
    for (const m of [...deps, module]) {
      for (const d of m.spec.definitions) {
        if (d.kind === 'const') {
          this.consts.set(d.name, { module: m, value: d.value, isEnumMember: false });
          continue;
        }
        this.types.set(d.name, { def: d, module: m });
        if (d.kind === 'enum') {
          for (const e of d.members) {
            this.consts.set(e.name, { module: m, value: e.value, isEnumMember: true });
          }
        }
      }
    }
  }

  /** lookup returns the definition of a named type. */
  lookup(xdrName: string): TypeDefinition {
    const t = this.types.get(xdrName);
    if (t === undefined)
      throw new GenError(`${this.module.config.source}: unknown type ${xdrName}`);
    return t.def;
  }

  /** has tells whether a type is defined (here or in a dependency). */
  has(xdrName: string): boolean {
    return this.types.has(xdrName);
  }

  /** tsName is the TypeScript name of a type, imported as a type if it lives elsewhere. */
  tsName(xdrName: string): string {
    const t = this.types.get(xdrName);
    if (t === undefined)
      throw new GenError(`${this.module.config.source}: unknown type ${xdrName}`);
    const name = typeName(xdrName, t.module.config.typePrefix, t.module.config.fallbackPrefix);
    if (t.module !== this.module) this.importSet(t.module).types.add(name);
    return name;
  }

  /** codec is the name of a type's encoder or decoder, imported if it lives elsewhere. */
  codec(kind: 'encode' | 'decode', xdrName: string): string {
    const t = this.types.get(xdrName);
    if (t === undefined)
      throw new GenError(`${this.module.config.source}: unknown type ${xdrName}`);
    const name =
      kind + typeName(xdrName, t.module.config.typePrefix, t.module.config.fallbackPrefix);
    if (t.module !== this.module) this.importSet(t.module).values.add(name);
    return name;
  }

  /** value evaluates a constant expression to a number. */
  value(v: Value): number {
    return this.evaluate(v, new Set());
  }

  /**
   * ref returns the TypeScript expression for a constant expression as used in code: the
   * number for a literal or an enum member, else the constant's name (imported from its module
   * or defined from the header table).
   */
  ref(v: Value): string {
    if (v.kind === 'literal') return v.text;
    const c = this.constEntry(v.name);
    if (c.isEnumMember) return String(this.evaluate(v, new Set()));
    if (c.module === null) {
      const h = LIBVIRT_HEADER_CONSTANTS.get(v.name);
      if (h !== undefined) this.headerConstants.set(v.name, h);
    } else if (c.module !== this.module) {
      this.importSet(c.module).values.add(v.name);
    }
    return v.name;
  }

  /**
   * noteHeaderConstant makes the module define a libvirt header constant it uses only as a
   * value (a union case label), so callers can build values with it.
   */
  noteHeaderConstant(name: string): void {
    const h = LIBVIRT_HEADER_CONSTANTS.get(name);
    if (h !== undefined && !this.consts.has(name)) this.headerConstants.set(name, h);
  }

  /** imports lists what to import from each dependency, by output file. */
  imports(): ReadonlyMap<string, ImportSet> {
    return this.imported;
  }

  private importSet(m: Module): ImportSet {
    let s = this.imported.get(m.config.outFile);
    if (s === undefined) {
      s = { values: new Set(), types: new Set() };
      this.imported.set(m.config.outFile, s);
    }
    return s;
  }

  private constEntry(name: string): ConstEntry {
    const c = this.consts.get(name);
    if (c !== undefined) return c;
    const h = LIBVIRT_HEADER_CONSTANTS.get(name);
    if (h !== undefined) return { module: null, value: h.value, isEnumMember: false };
    throw new GenError(
      `${this.module.config.source}: unknown constant ${name} (if libvirt's headers define it, add it to scripts/lvgen/externals.ts)`,
    );
  }

  private evaluate(v: Value, seen: Set<string>): number {
    if (v.kind === 'literal') return v.value;
    if (seen.has(v.name)) throw new GenError(`constant ${v.name} is defined in terms of itself`);
    seen.add(v.name);
    const c = this.constEntry(v.name);
    return typeof c.value === 'number' ? c.value : this.evaluate(c.value, seen);
  }
}
