import { raw } from '@mikro-orm/core';
import type { EntityManager } from '../../db/database.ts';
import type { HostId } from '../../entities/ids.ts';
import { Vm } from '../../entities/vm.ts';
import { bigintOf, type Row } from '../views.ts';

/**
 * HostAllocation is what the VMs placed on a host hold of it, running or not: their ceilings
 * (maxVcpus, maxMemoryBytes), since a VM may grow to them live. The scheduler places against
 * it, under the host's overcommit.
 */
export interface HostAllocation {
  readonly vms: number;
  readonly vcpus: number;
  readonly memoryBytes: bigint;
}

const NONE: HostAllocation = { vms: 0, vcpus: 0, memoryBytes: 0n };

/** allocationsOf sums the VMs on each host, in one grouped query; hosts with none get zeros. */
export async function allocationsOf(
  em: EntityManager,
  hosts: readonly HostId[],
): Promise<Map<HostId, HostAllocation>> {
  const out = new Map<HostId, HostAllocation>(hosts.map((h) => [h, NONE]));
  if (hosts.length === 0) return out;
  const rows = await em
    .createQueryBuilder(Vm)
    .select([
      'host',
      raw('count(*) as vms'),
      raw('sum(max_vcpus) as vcpus'),
      raw('sum(max_memory_bytes) as memory'),
    ])
    .where({ host: { $in: [...hosts] } })
    .groupBy('host')
    .execute<Row[]>('all');
  for (const r of rows)
    out.set(r.host as HostId, {
      vms: Number(r.vms),
      vcpus: Number(r.vcpus),
      memoryBytes: bigintOf(r.memory),
    });
  return out;
}
