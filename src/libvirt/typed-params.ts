import type { TypedParam } from './generated/remote-protocol.gen.ts';

/** TypedValue is the value of one libvirt typed parameter. */
export type TypedValue = number | bigint | boolean | string;

// VIR_TYPED_PARAM_* discriminants.
const T = { INT: 1, UINT: 2, LLONG: 3, ULLONG: 4, DOUBLE: 5, BOOLEAN: 6, STRING: 7 } as const;

/**
 * TypedParams builds the parameter lists libvirt takes. The daemon checks types exactly (a
 * ULLONG sent as UINT is refused), so each builder names the wire type.
 */
export const TypedParams = {
  int: (field: string, value: number): TypedParam => ({ field, value: { type: T.INT, i: value } }),
  uint: (field: string, value: number): TypedParam => ({
    field,
    value: { type: T.UINT, ui: value },
  }),
  llong: (field: string, value: bigint): TypedParam => ({
    field,
    value: { type: T.LLONG, l: value },
  }),
  ullong: (field: string, value: bigint): TypedParam => ({
    field,
    value: { type: T.ULLONG, ul: value },
  }),
  double: (field: string, value: number): TypedParam => ({
    field,
    value: { type: T.DOUBLE, d: value },
  }),
  boolean: (field: string, value: boolean): TypedParam => ({
    field,
    value: { type: T.BOOLEAN, b: value ? 1 : 0 },
  }),
  string: (field: string, value: string): TypedParam => ({
    field,
    value: { type: T.STRING, s: value },
  }),
};

/** typedValue unwraps one parameter's value. */
export function typedValue(p: TypedParam): TypedValue {
  const v = p.value;
  switch (v.type) {
    case T.INT:
      return v.i;
    case T.UINT:
      return v.ui;
    case T.LLONG:
      return v.l;
    case T.ULLONG:
      return v.ul;
    case T.DOUBLE:
      return v.d;
    case T.BOOLEAN:
      return v.b !== 0;
    case T.STRING:
      return v.s;
  }
}

/** typedParamsToRecord turns a parameter list into a plain record (later duplicates win). */
export function typedParamsToRecord(params: readonly TypedParam[]): Record<string, TypedValue> {
  const out: Record<string, TypedValue> = {};
  for (const p of params) out[p.field] = typedValue(p);
  return out;
}
