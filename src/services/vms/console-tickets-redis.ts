import type { SessionId, UserId, VmId } from '../../entities/ids.ts';
import { hashToken, newToken } from '../auth/tokens.ts';
import type { RedisLink } from '../replicas/redis.ts';
import type { ConsoleGrant, ConsoleTickets, IssuedTicket } from './console-tickets.ts';

/**
 * RedisConsoleTickets are ConsoleTickets any replica redeems: each grant is a key named after
 * the ticket's hash (`<prefix>console-ticket:<hash>`) that Redis expires with the ticket, and
 * GETDEL (Redis 6.2) makes a second redemption, on whichever replica, find nothing.
 */
export class RedisConsoleTickets implements ConsoleTickets {
  private readonly link: RedisLink;
  private readonly ttlMs: number;

  constructor(link: RedisLink, ttlSeconds: number) {
    this.link = link;
    this.ttlMs = Math.max(1, Math.round(ttlSeconds * 1000));
  }

  async issue(grant: ConsoleGrant): Promise<IssuedTicket> {
    const { token, hash } = newToken();
    const expiresAt = new Date(Date.now() + this.ttlMs);
    await this.link.commands.set(this.key(hash), JSON.stringify(stored(grant)), 'PX', this.ttlMs);
    return { ticket: token, expiresAt };
  }

  async redeem(ticket: string): Promise<ConsoleGrant | null> {
    const value = await this.link.commands.getdel(this.key(hashToken(ticket)));
    return value === null ? null : grantOf(value);
  }

  private key(hash: string): string {
    return `${this.link.prefix}console-ticket:${hash}`;
  }
}

// The grant as stored: the actor's four fields by name, nothing else it might carry.
interface StoredGrant {
  readonly kind: string;
  readonly vmId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly isAdmin: boolean;
  readonly address: string;
}

function stored({ kind, vmId, actor }: ConsoleGrant): StoredGrant {
  const { userId, sessionId, isAdmin, address } = actor;
  return { kind, vmId, userId, sessionId, isAdmin, address };
}

function grantOf(value: string): ConsoleGrant {
  const g: Partial<Record<keyof StoredGrant, unknown>> = JSON.parse(value);
  if (
    (g.kind !== 'serial' && g.kind !== 'display') ||
    typeof g.vmId !== 'string' ||
    typeof g.userId !== 'string' ||
    typeof g.sessionId !== 'string' ||
    typeof g.isAdmin !== 'boolean' ||
    typeof g.address !== 'string'
  ) {
    throw new Error('a console ticket in Redis holds a malformed grant');
  }
  return {
    kind: g.kind,
    vmId: g.vmId as VmId,
    actor: {
      userId: g.userId as UserId,
      sessionId: g.sessionId as SessionId,
      isAdmin: g.isAdmin,
      address: g.address,
    },
  };
}
