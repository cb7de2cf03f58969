import { GraphQLError } from 'graphql';

/** MAX_PAGE is the largest `first` a connection accepts. */
export const MAX_PAGE = 100;

/** pageSize checks a connection's paging arguments: forward paging, `first` at most MAX_PAGE. */
export function pageSize(args: {
  first?: number | null;
  last?: number | null;
  before?: string | null;
}): number {
  if (args.last != null || args.before != null) {
    throw new GraphQLError('only forward paging (first/after) is supported', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw new GraphQLError(`first must be between 1 and ${MAX_PAGE}`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return first;
}

/** encodeCursor and decodeCursor keep cursors opaque (base64url of the sort key). */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): string | undefined {
  return cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : undefined;
}

/** connectionOf builds a Relay connection from a page of nodes and their sort keys. */
export function connectionOf<T>(
  nodes: readonly T[],
  keyOf: (node: T) => string,
  hasNextPage: boolean,
) {
  const edges = nodes.map((node) => ({ node, cursor: encodeCursor(keyOf(node)) }));
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: false,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
