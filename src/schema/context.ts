import type { RequestInfo } from '../server/context.ts';
import type { Actor } from '../services/actor.ts';

/** KumoContext is the GraphQL context of one request or one subscription. */
export interface KumoContext {
  /** actor is the signed-in caller, or null for an anonymous one. */
  readonly actor: Actor | null;
  readonly request: RequestInfo;
}
