import type { VmId } from '../../entities/ids.ts';
import type { Actor } from '../actor.ts';
import { hashToken, newToken } from '../auth/tokens.ts';

/** ConsoleKind is what a ticket opens: the serial console or the graphical display. */
export type ConsoleKind = 'serial' | 'display';

/** ConsoleGrant is what a redeemed ticket stands for. */
export interface ConsoleGrant {
  readonly kind: ConsoleKind;
  readonly vmId: VmId;
  readonly actor: Actor;
}

/** IssuedTicket is a ticket as its holder gets it: shown once, never stored. */
export interface IssuedTicket {
  readonly ticket: string;
  readonly expiresAt: Date;
}

/**
 * ConsoleTickets hands out short-lived, single-use tickets for interactive consoles: a
 * browser cannot put a bearer token on a WebSocket, and a ticket in a URL that works once, for
 * one VM, for seconds, leaks nothing worth having. Only their hashes are kept.
 * MemoryConsoleTickets keeps them in this process (a restart voids open tickets, which only
 * means asking for a new one); RedisConsoleTickets lets any replica redeem what another issued.
 */
export interface ConsoleTickets {
  /** issue makes a ticket for the actor to one of the VM's consoles. */
  issue(grant: ConsoleGrant): Promise<IssuedTicket>;
  /** redeem uses a ticket up: its grant, or null when it is unknown, used or expired. */
  redeem(ticket: string): Promise<ConsoleGrant | null>;
}

/** MemoryConsoleTickets are the ConsoleTickets of one process. */
export class MemoryConsoleTickets implements ConsoleTickets {
  private readonly grants = new Map<string, ConsoleGrant & { readonly expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlSeconds: number, now: () => number = Date.now) {
    this.ttlMs = ttlSeconds * 1000;
    this.now = now;
  }

  async issue(grant: ConsoleGrant): Promise<IssuedTicket> {
    const now = this.now();
    for (const [hash, g] of this.grants) if (g.expiresAt <= now) this.grants.delete(hash);
    const { token, hash } = newToken();
    const expiresAt = now + this.ttlMs;
    this.grants.set(hash, { ...grant, expiresAt });
    return { ticket: token, expiresAt: new Date(expiresAt) };
  }

  async redeem(ticket: string): Promise<ConsoleGrant | null> {
    const hash = hashToken(ticket);
    const grant = this.grants.get(hash);
    this.grants.delete(hash);
    if (!grant || grant.expiresAt <= this.now()) return null;
    return { kind: grant.kind, vmId: grant.vmId, actor: grant.actor };
  }
}
