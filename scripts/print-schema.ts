// Prints the GraphQL schema to schema.graphql, and from it the schema types the clients' typed
// documents are checked against (gql.tada's introspection output); with --check, fails when a
// committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { minifyIntrospection, outputIntrospectionFile } from '@gql.tada/internal';
import { introspectionFromSchema, printSchema } from 'graphql';
import { buildSchema } from '../src/schema/index.ts';

const schema = buildSchema();
const files: Array<[URL, string]> = [
  [new URL('../schema.graphql', import.meta.url), `${printSchema(schema)}\n`],
  [
    new URL('../clients/graphql/graphql-env.d.ts', import.meta.url),
    outputIntrospectionFile(minifyIntrospection(introspectionFromSchema(schema)), {
      fileType: '.d.ts',
      shouldPreprocess: true,
    }),
  ],
];

if (process.argv.includes('--check')) {
  const stale = files.filter(([file, text]) => {
    try {
      return readFileSync(file, 'utf8') !== text;
    } catch {
      return true;
    }
  });
  for (const [file] of stale) console.error(`${file.pathname} is stale: run npm run schema`);
  if (stale.length > 0) process.exit(1);
} else {
  for (const [file, text] of files) writeFileSync(file, text);
}
