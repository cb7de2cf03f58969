import type { RequestInfo } from '../server/context.ts';
import type { Actor } from '../services/actor.ts';
import type { RequestServices } from '../services/services.ts';

/** KumoContext is the GraphQL context of one request or one subscription. */
export interface KumoContext {
  /** actor is the signed-in caller, or null for an anonymous one. */
  readonly actor: Actor | null;
  readonly request: RequestInfo;
  readonly services: RequestServices;
  /**
   * revealed holds ids of objects this request may show although type scopes would hide them:
   * the user and session a sign-in has just proved, before the caller holds a token.
   */
  readonly revealed: Set<string>;
}

/**
 * actorOf is the signed-in caller of a field whose auth scopes already refused anonymous
 * callers.
 */
export const actorOf = (ctx: KumoContext): Actor => ctx.actor as Actor;
