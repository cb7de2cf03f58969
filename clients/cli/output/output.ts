/** Json is a value --json prints. */
export type Json =
  | string
  | number
  | boolean
  | null
  | readonly Json[]
  | { readonly [k: string]: Json };

/** Row is one resource as a command reports it: stable field names, raw values. */
export type Row = { readonly [k: string]: Json };

/** Column is how a table shows one field of its rows. */
export interface Column {
  readonly key: string;
  readonly header: string;
  /** format turns the raw value into what people read (sizes, times); default: as is. */
  readonly format?: (value: Json, row: Row) => string;
  readonly align?: 'left' | 'right';
  /** state colors the cell as a resource state. */
  readonly state?: boolean;
}

/**
 * Output is what a command reports, for the renderer to print as a table, as JSON (--json) or
 * as ids (--quiet): a list of rows, one resource, or a message about what was done.
 */
export type Output =
  | { readonly kind: 'table'; readonly columns: readonly Column[]; readonly rows: readonly Row[] }
  | { readonly kind: 'item'; readonly fields: readonly Column[]; readonly row: Row }
  | { readonly kind: 'done'; readonly message: string; readonly row?: Row }
  | { readonly kind: 'none' };

export const table = (columns: readonly Column[], rows: readonly Row[]): Output => ({
  kind: 'table',
  columns,
  rows,
});
export const item = (fields: readonly Column[], row: Row): Output => ({
  kind: 'item',
  fields,
  row,
});
export const done = (message: string, row?: Row): Output =>
  row ? { kind: 'done', message, row } : { kind: 'done', message };
export const NONE: Output = { kind: 'none' };
