import { GraphQLError } from 'graphql';
import { isServiceError, SERVICE_ERROR_CODES, type ServiceErrorCode } from '../services/errors.ts';
import { builder } from './builder.ts';

/** UserErrorShape is one expected failure reported in a mutation payload. */
export interface UserErrorShape {
  readonly code: ServiceErrorCode;
  readonly field: string | null;
  readonly message: string;
}

const TOP_LEVEL: ReadonlySet<ServiceErrorCode> = new Set(['FORBIDDEN', 'UNAUTHENTICATED']);

/** UserErrorCode is the GraphQL enum of the codes that appear in `userErrors`. */
export const UserErrorCode = builder.enumType('UserErrorCode', {
  values: SERVICE_ERROR_CODES.filter((c) => !TOP_LEVEL.has(c)),
});

/** UserError is the GraphQL type of one expected failure: `userErrors { code field message }`. */
export const UserError = builder.objectRef<UserErrorShape>('UserError').implement({
  description:
    'An expected failure of an operation: what was wrong, with which input field, and what to do.',
  fields: (t) => ({
    code: t.field({
      type: UserErrorCode,
      resolve: (e) => e.code as Exclude<ServiceErrorCode, 'FORBIDDEN' | 'UNAUTHENTICATED'>,
    }),
    field: t.string({ nullable: true, resolve: (e) => e.field }),
    message: t.exposeString('message'),
  }),
});

/**
 * runForPayload runs a mutation's work and sorts its failures: a ServiceError becomes a
 * `userErrors` entry, except FORBIDDEN and UNAUTHENTICATED, which become top-level errors with
 * that code; anything else propagates (and is masked as unexpected).
 */
export async function runForPayload<T>(
  work: () => Promise<T>,
): Promise<{ result: T | null; userErrors: UserErrorShape[] }> {
  try {
    return { result: await work(), userErrors: [] };
  } catch (err) {
    if (!isServiceError(err)) throw err;
    if (TOP_LEVEL.has(err.code))
      throw new GraphQLError(err.message, { extensions: { code: err.code } });
    return {
      result: null,
      userErrors: [{ code: err.code, field: err.field, message: err.message }],
    };
  }
}
