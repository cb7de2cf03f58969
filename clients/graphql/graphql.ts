import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

/**
 * graphql parses a document and types its result and variables against the committed
 * schema.graphql (graphql-env.d.ts, written by `npm run schema`): a schema change that breaks
 * a client's document (the CLI's, the web console's) fails the type check.
 */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; BigInt: string; Upload: never };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';
export { readFragment } from 'gql.tada';
