import { BREAK, type DocumentNode, GraphQLError, Kind, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// The ORM writes values into the SQL text, and SQLite's statement text ends at a NUL; PostgreSQL
// refuses NUL in text outright. No field has a use for it (files travel as uploads), so an
// operation carrying one, in its variables or as a `\u0000` in a string literal, is refused whole
// before it runs. (A raw NUL in the document is refused by the parser already.)

/** nulGuard refuses such operations, over HTTP and over the WebSocket alike. */
export function nulGuard(): Plugin {
  const guard = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; variableValues?: unknown };
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
  }) => {
    if (!literalHoldsNul(args.document) && !holdsNul(args.variableValues)) return;
    setResultAndStopExecution({
      errors: [
        new GraphQLError('text may not contain NUL (U+0000) characters', {
          extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
        }),
      ],
    });
  };
  return { onExecute: guard, onSubscribe: guard };
}

function literalHoldsNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (!node.value.includes('\u0000')) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v));
  return false;
}
