import { useState } from 'react';

/** PAGE is how many rows a table shows at once (within the API's query cost limit). */
export const PAGE = 50;

/** Pages is where a paged table is: the cursor to read after, and moving between pages. */
export interface Pages {
  readonly after: string | null;
  readonly first: boolean;
  next(endCursor: string | null | undefined): void;
  previous(): void;
}

/** usePages keeps the cursors of the pages visited, so Previous goes back the way it came. */
export function usePages(): Pages {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    after: cursors.at(-1) ?? null,
    first: cursors.length === 1,
    next: (endCursor) => setCursors((c) => [...c, endCursor ?? null]),
    previous: () => setCursors((c) => c.slice(0, -1)),
  };
}

/** Pager is the Previous and Next buttons under a paged table. */
export function Pager({
  pages,
  what,
  pageInfo,
  busy,
}: {
  pages: Pages;
  what: string;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null } | undefined;
  busy: boolean;
}) {
  if (pages.first && !pageInfo?.hasNextPage) return null;
  return (
    <nav className="pager" aria-label={`${what} pages`}>
      <button type="button" disabled={pages.first || busy} onClick={pages.previous}>
        Previous page
      </button>
      <button
        type="button"
        disabled={!pageInfo?.hasNextPage || busy}
        onClick={() => pages.next(pageInfo?.endCursor)}
      >
        Next page
      </button>
    </nav>
  );
}
