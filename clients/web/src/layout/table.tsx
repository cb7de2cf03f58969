import type { ReactNode } from 'react';

/** Column is a table's column heading; `{ hidden }` is read out but not shown (actions). */
export type Column = string | { readonly hidden: string };

/**
 * Table is a data table with column headings, scrolling sideways in its own box on a narrow
 * screen; its children are the body's rows.
 */
export function Table({ columns, children }: { columns: readonly Column[]; children: ReactNode }) {
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            {columns.map((c) =>
              typeof c === 'string' ? (
                <th scope="col" key={c}>
                  {c}
                </th>
              ) : (
                <th scope="col" key={c.hidden}>
                  <span className="visually-hidden">{c.hidden}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
