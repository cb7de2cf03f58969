import type { EntityManager } from '@mikro-orm/core';
import { Host } from '../../entities/host.ts';
import type { HostId } from '../../entities/ids.ts';

/**
 * storagePeers are the hosts that see the same files in Kumo's pool as this one: every host
 * that names the same shared storage, or the host alone on local storage. The host itself is
 * always among them.
 */
export async function storagePeers(em: EntityManager, hostId: HostId): Promise<HostId[]> {
  const host = await em.findOne(Host, { id: hostId }, { fields: ['sharedStorage'] });
  if (!host?.sharedStorage) return [hostId];
  const peers = await em.find(Host, { sharedStorage: host.sharedStorage }, { fields: ['id'] });
  return peers.map((h) => h.id);
}
