import type { SessionId, UserId } from '../entities/ids.ts';
import { ServiceError } from './errors.ts';

/**
 * Actor is who asks a service to do something: a signed-in user through one session. Services
 * take it explicitly and never read it from globals; the controller's own housekeeping passes
 * `null` where an actor is optional (and is never charged or refused for it).
 */
export interface Actor {
  readonly userId: UserId;
  readonly sessionId: SessionId;
  readonly isAdmin: boolean;
  /** address is where the request came from (audit, rate limits). */
  readonly address: string;
}

/** requireAdmin refuses anyone but an admin: `only admins may <may>`. */
export function requireAdmin(actor: Actor, may: string): void {
  if (!actor.isAdmin) throw new ServiceError('FORBIDDEN', `only admins may ${may}`);
}
