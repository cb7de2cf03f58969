// Prints the GraphQL schema to schema.graphql; with --check, fails when the committed file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildSchema } from '../src/schema/index.ts';

const file = new URL('../schema.graphql', import.meta.url);
const printed = `${printSchema(buildSchema())}\n`;
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // absent counts as stale
  }
  if (committed !== printed) {
    console.error('schema.graphql is stale: run npm run schema');
    process.exit(1);
  }
} else {
  writeFileSync(file, printed);
}
