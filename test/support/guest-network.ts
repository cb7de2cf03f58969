import type { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import type { NonnullNetwork } from '../../src/libvirt/generated/remote-protocol.gen.ts';
import { networkXml } from '../../src/libvirt/xml/network.ts';

/** GUEST_NETWORK is the isolated libvirt network test guests' NICs attach to on every rig host. */
export const GUEST_NETWORK = 'kumo-guests';

async function startIfInactive(conn: LibvirtConnection, net: NonnullNetwork): Promise<void> {
  if ((await conn.remote.networkIsActive({ net })).active) return;
  try {
    await conn.remote.networkCreate({ net });
  } catch (err) {
    // Another test file started it between the check and the start.
    if (!(await conn.remote.networkIsActive({ net })).active) throw err;
  }
}

/**
 * ensureGuestNetwork defines (if missing) and starts the isolated network `kumo-guests` on the
 * connection's host and returns its name. A bridge with no addresses, so libvirt runs no dnsmasq.
 * Parallel test files may race here, like ensurePool.
 */
export async function ensureGuestNetwork(conn: LibvirtConnection): Promise<string> {
  let defineError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const { net } = await conn.remote.networkLookupByName({ name: GUEST_NETWORK });
      await startIfInactive(conn, net);
      return GUEST_NETWORK;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (attempt > 3) throw defineError ?? err;
    }
    try {
      const { net } = await conn.remote.networkDefineXML({
        xml: networkXml({ name: GUEST_NETWORK }),
      });
      await startIfInactive(conn, net);
      return GUEST_NETWORK;
    } catch (err) {
      // Most likely another test file defined it first: look it up again.
      defineError = err;
    }
  }
}
