import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** GRAPHIQL_VERSION is the @graphql-yoga/graphiql bundle scripts/setup unpacks into .tools/. */
export const GRAPHIQL_VERSION = '4.5.0';

/** graphiqlDir is where the GraphiQL bundle lies, or null when setup has not unpacked it. */
export function graphiqlDir(): string | null {
  const dir = fileURLToPath(new URL(`../../.tools/graphiql-${GRAPHIQL_VERSION}`, import.meta.url));
  return existsSync(`${dir}/yoga-graphiql.umd.js`) ? dir : null;
}
