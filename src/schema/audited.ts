import { GraphQLError } from 'graphql';
import type { TargetType } from '../entities/ids.ts';
import type { KumoContext } from './context.ts';
import { runForPayload, type UserErrorShape } from './user-errors.ts';

/** AuditTarget says what a mutation acts on; the id may only be known from its result. */
export interface AuditTarget<T> {
  readonly type: TargetType;
  readonly id?: string | null;
  readonly idOf?: (result: T) => string;
}

/**
 * audited runs a mutation's work like runForPayload and writes its audit event: OK, ERROR
 * with the user error's message, or DENIED when the service refused the actor. (Refusals by
 * scope-auth, before any resolver runs, are audited by the builder.)
 */
export async function audited<T>(
  ctx: KumoContext,
  action: string,
  target: AuditTarget<T>,
  work: () => Promise<T>,
): Promise<{ result: T | null; userErrors: UserErrorShape[] }> {
  const base = { actor: ctx.actor, action, targetType: target.type, address: ctx.request.address };
  try {
    const out = await runForPayload(work);
    const id = out.result !== null && target.idOf ? target.idOf(out.result) : (target.id ?? null);
    const failed = out.userErrors[0];
    await ctx.services.audit.record({
      ...base,
      targetId: id,
      result: failed ? 'ERROR' : 'OK',
      message: failed ? `${failed.code}: ${failed.message}` : null,
    });
    return out;
  } catch (err) {
    // runForPayload turns the services' refusals into GraphQLErrors with their code.
    const code = err instanceof GraphQLError ? err.extensions.code : undefined;
    const denied = code === 'FORBIDDEN' || code === 'UNAUTHENTICATED';
    await ctx.services.audit.record({
      ...base,
      targetId: target.id ?? null,
      result: denied ? 'DENIED' : 'ERROR',
      message: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
}
