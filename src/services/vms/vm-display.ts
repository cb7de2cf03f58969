import type { Duplex } from 'node:stream';
import { type DomainRef, ModificationFlags } from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { parseVncDisplay, type VncDisplay, vncPasswordXml } from '../../libvirt/xml/domain.ts';
import { RfbError, rfbLogin } from '../../vnc/rfb.ts';
import { ServiceError } from '../errors.ts';
import { randomVncPassword } from './vm-domain.ts';
import { hostFailure } from './vm-host.ts';

// A login's password works this long after it is set: enough to log in, also with a host's
// clock somewhat behind or ahead of the controller's. A session logged in stays open after.
const PASSWORD_TTL_MS = 60_000;
const LOGIN_TIMEOUT_MS = 10_000;

/** displayOf reads a running domain's VNC display; INVALID_STATE when it has none to open. */
export async function displayOf(conn: LibvirtConnection, dom: DomainRef): Promise<VncDisplay> {
  const xml = await conn.domains.xml(dom).catch((err: unknown) => {
    throw hostFailure(err, 'the graphical console cannot be opened');
  });
  const display = parseVncDisplay(xml);
  if (!display)
    throw new ServiceError(
      'INVALID_STATE',
      'the VM has no graphical display yet; it gets one when it next starts',
      'input.id',
    );
  if (display.port <= 0)
    throw new ServiceError('INVALID_STATE', 'the VM is not running', 'input.id');
  return display;
}

/**
 * loginDisplay opens a running domain's VNC display as the controller: it gives the display a
 * fresh password that expires within a minute (the one in the definition is random and known
 * to nobody), reaches the port by the host connection's own way, and logs in. The session is
 * left where the client sends ClientInit; the browser never learns a password. Two logins to
 * one display at once would replace each other's password: the caller runs them in turn.
 */
export async function loginDisplay(conn: LibvirtConnection, dom: DomainRef): Promise<Duplex> {
  const display = await displayOf(conn, dom);
  const password = randomVncPassword();
  const validTo = new Date(Date.now() + PASSWORD_TTL_MS);
  let vnc: Duplex | null = null;
  try {
    await conn.domains.updateDevice(
      dom,
      vncPasswordXml(display, password, validTo),
      ModificationFlags.LIVE,
    );
    vnc = await conn.reach(display.port, LOGIN_TIMEOUT_MS);
    await login(vnc, password);
    return vnc;
  } catch (err) {
    vnc?.destroy();
    if (err instanceof RfbError)
      throw new ServiceError(
        'UNAVAILABLE',
        `the VM's display did not let the controller in: ${err.message}${err.refused ? " (is the host's clock right?)" : ''}`,
      );
    throw hostFailure(err, 'the graphical console cannot be opened');
  }
}

async function login(vnc: Duplex, password: string): Promise<void> {
  const timer = setTimeout(() => vnc.destroy(), LOGIN_TIMEOUT_MS);
  try {
    await rfbLogin(vnc, password);
  } finally {
    clearTimeout(timer);
  }
}
