import type { Column, Json, Output, Row } from './output.ts';
import { type Style, visibleWidth } from './style.ts';

/** OutputMode is how results are printed: for people, for scripts, or ids only. */
export type OutputMode = 'human' | 'json' | 'quiet';

/** render prints an Output in a mode; the text ends with a newline unless it is empty. */
export function render(out: Output, mode: OutputMode, style: Style): string {
  if (out.kind === 'none') return '';
  if (mode === 'json') return `${JSON.stringify(jsonOf(out), null, 2)}\n`;
  if (mode === 'quiet') return lines(idsOf(out));
  switch (out.kind) {
    case 'table':
      return out.rows.length === 0 ? '' : lines(tableLines(out.columns, out.rows, style));
    case 'item':
      return lines(itemLines(out.fields, out.row, style));
    case 'done':
      return lines([out.message]);
  }
}

function jsonOf(out: Exclude<Output, { kind: 'none' }>): Json {
  switch (out.kind) {
    case 'table':
      return out.rows;
    case 'item':
      return out.row;
    case 'done':
      return out.row ?? { message: out.message };
  }
}

function idsOf(out: Exclude<Output, { kind: 'none' }>): string[] {
  const rows =
    out.kind === 'table' ? out.rows : out.kind === 'item' ? [out.row] : out.row ? [out.row] : [];
  return rows.flatMap((r) => (typeof r.id === 'string' ? [r.id] : []));
}

const lines = (ls: readonly string[]) => (ls.length === 0 ? '' : `${ls.join('\n')}\n`);

function cell(c: Column, row: Row, style: Style): string {
  const value = row[c.key] ?? null;
  const text = c.format ? c.format(value, row) : value === null ? '-' : String(value);
  return c.state ? style.state(text) : text;
}

/** tableLines aligns rows under bold headers, two spaces between columns. */
export function tableLines(
  columns: readonly Column[],
  rows: readonly Row[],
  style: Style,
): string[] {
  const cells = rows.map((r) => columns.map((c) => cell(c, r, style)));
  const widths = columns.map((c, i) =>
    Math.max(visibleWidth(c.header), ...cells.map((r) => visibleWidth(r[i] ?? ''))),
  );
  const pad = (text: string, i: number) => {
    const room = ' '.repeat((widths[i] ?? 0) - visibleWidth(text));
    return columns[i]?.align === 'right' ? room + text : text + room;
  };
  const join = (parts: string[]) => parts.join('  ').trimEnd();
  return [
    join(columns.map((c, i) => style.bold(pad(c.header, i)))),
    ...cells.map((r) => join(r.map(pad))),
  ];
}

function itemLines(fields: readonly Column[], row: Row, style: Style): string[] {
  const width = Math.max(...fields.map((f) => visibleWidth(f.header)));
  return fields.map(
    (f) => `${style.bold(`${f.header}:`.padEnd(width + 1))} ${cell(f, row, style)}`,
  );
}
