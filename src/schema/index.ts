// Loads every type file for its side effect on the builder (Pothos's app-layout guide); the
// schema itself is made by buildSchema below.
import './user-errors.ts';
import './user.ts';
import './session.ts';
import './audit.ts';
import './host.ts';
import './quota.ts';
import './operation.ts';
import './upload.ts';
import './share.ts';
import './image.ts';
import './image-list.ts';
import './published-image-list.ts';
import './vm.ts';
import './snapshot.ts';
import './vm-console.ts';
import './vm-migration.ts';
import './operation-transfer.ts';
import './usage.ts';
import './execution.ts';
import './replica.ts';
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

/** buildSchema makes the GraphQL schema, its types sorted so printed diffs stay small. */
export function buildSchema() {
  return lexicographicSortSchema(builder.toSchema());
}
