import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import type { UploadRef } from '../server/uploads.ts';
import type { KumoContext } from './context.ts';

/** AuthScopes are the named checks fields and types state with `authScopes`. */
export interface AuthScopes {
  /** signedIn: every authenticated caller. */
  signedIn: boolean;
  /** admin: an administrator. */
  admin: boolean;
}

/**
 * builder is the one Pothos builder. scope-auth comes first (its README asks for that, so it
 * wraps every other plugin's resolvers). Authorization failures are top-level errors with code
 * UNAUTHENTICATED (no valid session) or FORBIDDEN (signed in, not allowed); expected failures
 * of an allowed operation are `userErrors` in its payload (see user-errors.ts).
 */
export const builder = new SchemaBuilder<{
  Context: KumoContext;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
    BigInt: { Input: bigint; Output: bigint };
    Upload: { Input: UploadRef; Output: never };
  };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, DataloaderPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    authScopes: (ctx) => ({
      signedIn: ctx.actor !== null,
      admin: ctx.actor?.isAdmin === true,
    }),
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, info) => {
      const code = ctx.actor === null ? 'UNAUTHENTICATED' : 'FORBIDDEN';
      if (info.parentType.name === 'Mutation') {
        // Every mutation is audited, refusals too; a failed audit write must not mask the refusal.
        void ctx.services.audit
          .record({
            actor: ctx.actor,
            action: info.fieldName,
            targetType: 'SYSTEM',
            result: 'DENIED',
            message: code,
            address: ctx.request.address,
          })
          .catch(() => undefined);
      }
      return code === 'UNAUTHENTICATED'
        ? new GraphQLError('sign in first: no valid session token was sent', {
            extensions: { code },
          })
        : new GraphQLError('not allowed for this user', { extensions: { code } });
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
  validation: {
    validationError: (failure) =>
      new GraphQLError(
        failure.issues
          .map((i) => `${(i.path ?? []).join('.') || 'input'}: ${i.message}`)
          .join('; '),
        {
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ),
  },
});

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO-8601 string in UTC.',
  serialize: (d) => d.toISOString(),
  parseValue: (v) => {
    const d = typeof v === 'string' ? new Date(v) : null;
    if (!d || Number.isNaN(d.getTime()))
      throw new GraphQLError('DateTime must be an ISO-8601 string');
    return d;
  },
});

builder.scalarType('BigInt', {
  description: 'An integer of any size, as a string of decimal digits (byte counts exceed 2^53).',
  serialize: (n) => n.toString(),
  parseValue: (v) => {
    if (typeof v === 'string' && /^-?\d{1,30}$/.test(v)) return BigInt(v);
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    throw new GraphQLError('BigInt must be a string of decimal digits');
  },
});
