import type { Duplex } from 'node:stream';
import type { EntityManager } from '../../db/database.ts';
import type { VmId } from '../../entities/ids.ts';
import { ConsoleFlags } from '../../libvirt/api/domains.ts';
import type { Actor } from '../actor.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { ServiceError } from '../errors.ts';
import { leavable } from '../leavable.ts';
import type { Locks } from '../locks.ts';
import { PermissionService } from '../permissions/permission-service.ts';
import type { ConsoleHub, ConsoleTap } from './console-hub.ts';
import type { ConsoleShare } from './console-share.ts';
import type { ConsoleKind, ConsoleTickets, IssuedTicket } from './console-tickets.ts';
import { displayOf, loginDisplay } from './vm-display.ts';
import { hostFailure } from './vm-host.ts';
import type { VmService } from './vm-service.ts';

/** ConsoleDeps are the process-wide parts of consoles. */
export interface ConsoleDeps {
  readonly hub: ConsoleHub;
  readonly tickets: ConsoleTickets;
  /** accessCheckMs is how often an open console checks its holder may still use it. */
  readonly accessCheckMs: number;
  /** share shares each console among replicas; null when this process runs alone. */
  readonly share: ConsoleShare | null;
  /** logins puts logins to one VM's display in turn (each sets the display's password). */
  readonly logins: Locks<VmId>;
}

/** DisplayLink is a graphical console opened for a client. */
export interface DisplayLink {
  /** vnc is the VNC session, logged in, where the client's ClientInit comes next. */
  readonly vnc: Duplex;
  /** revoked resolves when the holder may no longer use it (closing vnc stops the watch). */
  readonly revoked: Promise<void>;
}

/**
 * VmConsoleService opens a running VM's consoles to those with OPERATOR on it (a console is a
 * way into the guest): the serial console as lines for a subscription, or, for an interactive
 * session, the serial console or the graphical display through a single-use ticket that a
 * WebSocket endpoint redeems. An open console ends when its holder's session ends or their
 * role is taken away.
 */
export class VmConsoleService {
  private readonly em: EntityManager;
  private readonly vms: VmService;
  private readonly auth: AuthService;
  private readonly deps: ConsoleDeps;

  constructor(em: EntityManager, vms: VmService, auth: AuthService, deps: ConsoleDeps) {
    this.em = em;
    this.vms = vms;
    this.auth = auth;
    this.deps = deps;
  }

  /**
   * lines opens the console (refusing at once what may not be opened) and streams its output as
   * lines from now on, for as long as the caller reads. The console is taken over from clients
   * outside Kumo, as `virsh console --force` does.
   */
  async lines(actor: Actor, id: VmId): Promise<AsyncGenerator<string>> {
    return linesOf(await this.open(actor, id));
  }

  /** ticket lets the actor open one of the VM's interactive consoles once, before it expires. */
  async ticket(actor: Actor, id: VmId, kind: ConsoleKind): Promise<IssuedTicket> {
    const vm = await this.vms.get(actor, id, 'use');
    if (vm.state !== 'RUNNING' && vm.state !== 'PAUSED')
      throw new ServiceError(
        'INVALID_STATE',
        `a VM that is ${vm.state.toLowerCase()} has no console; start it first`,
        'input.id',
      );
    if (kind === 'display') {
      const { conn, dom } = await this.vms.domainOf(vm);
      await displayOf(conn, dom);
    }
    return this.deps.tickets.issue({ kind, vmId: id, actor });
  }

  /** connect redeems a serial console's ticket: the console of its VM, for whom it was issued. */
  async connect(ticket: string): Promise<{ vmId: VmId; tap: ConsoleTap }> {
    const { actor, vmId } = await this.redeem(ticket, 'serial');
    return { vmId, tap: await this.open(actor, vmId) };
  }

  /**
   * display redeems a graphical console's ticket: a VNC session to its VM's display, logged in
   * and waiting for the client's ClientInit, which ends when its holder may no longer use it.
   */
  async display(ticket: string): Promise<DisplayLink> {
    const { actor, vmId } = await this.redeem(ticket, 'display');
    const vm = await this.vms.get(actor, vmId, 'use');
    const { conn, dom } = await this.vms.domainOf(vm);
    const vnc = await this.deps.logins.run(vmId, 'opening its display', () =>
      loginDisplay(conn, dom),
    );
    const { promise: revoked, resolve } = Promise.withResolvers<void>();
    const stop = this.watch(actor, vmId, resolve);
    vnc.once('close', stop);
    return { vnc, revoked };
  }

  private async redeem(ticket: string, kind: ConsoleKind): Promise<{ actor: Actor; vmId: VmId }> {
    const grant = await this.deps.tickets.redeem(ticket);
    const actor = grant && grant.kind === kind && (await this.auth.current(grant.actor));
    if (!grant || !actor)
      throw new ServiceError('UNAUTHENTICATED', 'the console ticket is unknown, used or expired');
    return { actor, vmId: grant.vmId };
  }

  private async open(actor: Actor, id: VmId): Promise<ConsoleTap> {
    const vm = await this.vms.get(actor, id, 'use');
    const openLocal = async () => {
      const { conn, dom } = await this.vms.domainOf(vm);
      return conn.domains.openConsole(dom, null, ConsoleFlags.FORCE).catch((err: unknown) => {
        throw hostFailure(err, 'the console cannot be opened');
      });
    };
    const share = this.deps.share;
    const tap = await this.deps.hub.tap(id, () =>
      share ? share.open(id, openLocal) : openLocal(),
    );
    const stop = this.watch(actor, id, () => tap.end('REVOKED'));
    void tap.ended.then(stop);
    return tap;
  }

  // Calls `lost` once the actor may no longer use the VM; returns what stops the watch.
  private watch(actor: Actor, id: VmId, lost: () => void): () => void {
    const timer = setInterval(() => {
      this.allowed(actor, id).then(
        (ok) => {
          if (ok) return;
          clearInterval(timer);
          lost();
        },
        () => undefined,
      );
    }, this.deps.accessCheckMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  // Asked afresh each time (a new unit of work), as the session and roles may have changed.
  private async allowed(actor: Actor, id: VmId): Promise<boolean> {
    const now = await this.auth.current(actor);
    if (!now) return false;
    return new PermissionService(this.em.fork()).can(now, { type: 'VM', id }, 'use');
  }
}

// The tap is open before the first read: a reader that leaves, even before reading, lets go of it.
function linesOf(tap: ConsoleTap): AsyncGenerator<string> {
  const lines = (async function* () {
    let rest = '';
    try {
      for await (const chunk of tap.output as AsyncIterable<Buffer>) {
        const parts = (rest + chunk.toString('utf8')).split(/\r?\n/);
        rest = parts.pop() ?? '';
        for (const line of parts) yield line.replaceAll('\r', '');
      }
      if (rest) yield rest;
    } finally {
      tap.end();
    }
  })();
  return leavable(lines, () => tap.end());
}
