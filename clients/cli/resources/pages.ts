/** Page is one page of a Relay connection. */
export interface Page<N> {
  readonly edges: ReadonlyArray<{ readonly node: N }>;
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
}

/** PAGE is the page size the CLI asks for (the server's largest). */
export const PAGE = 100;

/** allPages follows a connection to its end (bounded: lists past `max` are cut). */
export async function allPages<N>(
  fetch: (after: string | null) => Promise<Page<N>>,
  max = 10_000,
): Promise<N[]> {
  const nodes: N[] = [];
  let after: string | null = null;
  for (;;) {
    const page: Page<N> = await fetch(after);
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || nodes.length >= max) return nodes;
    after = page.pageInfo.endCursor;
  }
}
