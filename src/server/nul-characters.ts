import { GraphQLError } from 'graphql';

// The ORM writes values into the SQL text, and SQLite's statement text ends at a NUL; PostgreSQL
// refuses NUL in text outright. No field has a use for it (files travel as uploads), so a request
// carrying one is refused whole, before anything runs.

/** nulRefusal is the error for a document or variables holding U+0000, or null when none does. */
export function nulRefusal(query: unknown, variables: unknown): GraphQLError | null {
  if (!holdsNul(query) && !holdsNul(variables)) return null;
  return new GraphQLError('text may not contain NUL (U+0000) characters', {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });
}

function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v));
  return false;
}
