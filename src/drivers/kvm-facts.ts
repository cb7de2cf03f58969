import { PoolListFlags, type PoolRef } from '../libvirt/api/storage.ts';
import type { LibvirtConnection } from '../libvirt/connection.ts';
import { isNotFound } from '../libvirt/errors.ts';
import { parseCapabilities } from '../libvirt/xml/capabilities.ts';
import type { FactsOptions, HostFacts, StorageFacts } from './session.ts';

/** readFacts gathers a host's facts over one connection (a handful of calls, in parallel). */
export async function readFacts(conn: LibvirtConnection, opts: FactsOptions): Promise<HostFacts> {
  const [hostname, info, capsXml, hv, storage] = await Promise.all([
    conn.host.hostname(),
    conn.host.info(),
    conn.host.capabilities(),
    conn.host.hypervisor(),
    storageFacts(conn, opts.storagePool),
  ]);
  const caps = parseCapabilities(capsXml);
  const domainTypes = [
    ...new Set(caps.guests.filter((g) => g.arch === caps.arch).flatMap((g) => g.domainTypes)),
  ];
  return {
    hostname,
    uuid: caps.uuid,
    arch: caps.arch || info.model,
    cpuModel: caps.cpuModel ?? '',
    cpus: info.cpus,
    // NODE_GET_INFO counts sockets per NUMA node.
    sockets: info.sockets * Math.max(info.nodes, 1),
    cores: info.cores,
    threads: info.threads,
    numaNodes: info.nodes,
    mhz: info.mhz,
    memoryBytes: info.memoryKiB * 1024,
    hypervisor: `${hv.type} ${versionString(hv.version)}`,
    libvirtVersion: versionString(conn.libVersion),
    kvm: domainTypes.includes('kvm'),
    domainTypes,
    storage,
  };
}

/** versionString turns libvirt's major * 1e6 + minor * 1e3 + micro into `major.minor.micro`. */
export function versionString(v: number): string {
  return `${Math.floor(v / 1e6)}.${Math.floor(v / 1e3) % 1000}.${v % 1000}`;
}

// A named pool that does not exist (yet: a service may create it once connected) measures as
// zero pools rather than failing, so that it never keeps a host from coming online.
async function storageFacts(conn: LibvirtConnection, name?: string): Promise<StorageFacts> {
  const pools: PoolRef[] =
    name === undefined
      ? await conn.storage.listPools(PoolListFlags.ACTIVE)
      : await conn.storage.lookupPool(name).then(
          (p) => [p],
          (err: unknown) => {
            if (isNotFound(err)) return [];
            throw err;
          },
        );
  // A pool may vanish between the listing and the question (another client undefined it).
  const infos = await Promise.all(
    pools.map((p) =>
      conn.storage.poolInfo(p).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw err;
      }),
    ),
  );
  let capacity = 0n;
  let available = 0n;
  let counted = 0;
  for (const info of infos) {
    if (!info) continue;
    capacity += info.capacity;
    available += info.available;
    counted++;
  }
  return {
    pool: name ?? null,
    pools: counted,
    capacityBytes: Number(capacity),
    availableBytes: Number(available),
  };
}
