import type { EntityManager } from '../../db/database.ts';
import { Host } from '../../entities/host.ts';
import type { HostId, VmId } from '../../entities/ids.ts';
import { Operation } from '../../entities/operation.ts';
import { Vm } from '../../entities/vm.ts';
import { ServiceError } from '../errors.ts';
import { allocationsOf } from '../hosts/host-allocation.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import { type HostCapacity, type PlacementPolicy, place, type VmSize } from './scheduler.ts';
import { domainTypeOf } from './vm-domain.ts';

/** RoomQuery narrows which hosts may take a VM. */
export interface RoomQuery {
  /** pinned is the one host asked for (admins). */
  readonly pinned?: HostId | null;
  /** except is a host that may not take it (the one a VM leaves). */
  readonly except?: HostId;
  /** domainType is the domain type the host must run the VM with (a running VM keeps its own). */
  readonly domainType?: string;
}

/**
 * HostRooms says which hosts have room for a VM: the placeable ones (ONLINE, no admin hold),
 * with what their VMs already hold (and VMs migrating to them), summed by the database, under
 * each host's overcommit.
 */
export class HostRooms {
  private readonly em: EntityManager;
  private readonly monitor: HostMonitor;
  private readonly policy: PlacementPolicy;

  constructor(em: EntityManager, monitor: HostMonitor, policy: PlacementPolicy) {
    this.em = em;
    this.monitor = monitor;
    this.policy = policy;
  }

  /** choose is the best host for a VM of `size`, or UNAVAILABLE saying why there is none. */
  async choose(size: VmSize, q: RoomQuery = {}): Promise<HostId> {
    const pinned = q.pinned ?? null;
    const hosts = await this.capacities(pinned, q);
    if (pinned && !hosts.some((h) => h.hostId === pinned))
      throw new ServiceError(
        'UNAVAILABLE',
        q.domainType
          ? `host ${pinned} cannot take this VM now (not online, in maintenance, or not running ${q.domainType} guests)`
          : `host ${pinned} cannot take VMs now (it is not online, or in maintenance)`,
        'input.host',
      );
    const best = place(hosts, size, this.policy)[0];
    if (!best)
      throw new ServiceError(
        'UNAVAILABLE',
        `no host has room for ${size.vcpus} vCPUs and ${size.memoryBytes} bytes of memory`,
        pinned ? 'input.host' : 'input.memoryBytes',
      );
    return best.hostId;
  }

  /** capacities are the placeable hosts (or the one asked for) that match the query. */
  async capacities(only: HostId | null, q: RoomQuery = {}): Promise<HostCapacity[]> {
    const statuses = this.monitor
      .statuses()
      .filter(
        (s) => s.placeable && s.facts && (!only || s.hostId === only) && s.hostId !== q.except,
      );
    if (statuses.length === 0) return [];
    const ids = statuses.map((s) => s.hostId as HostId);
    const hosts = await this.em.find(Host, { id: { $in: ids } });
    const used = await allocationsOf(this.em, ids);
    // A VM on its way to a host holds room there too, until it is recorded there.
    const moving = await this.em.find(Operation, { kind: 'vmMigrate', status: 'RUNNING' });
    const arriving = new Map<string, HostId>();
    for (const op of moving) {
      const to = op.details.toHostId as HostId;
      if (ids.includes(to) && op.targetId) arriving.set(op.targetId, to);
    }
    if (arriving.size > 0) {
      const vms = await this.em.find(
        Vm,
        { id: { $in: [...arriving.keys()] as VmId[] } },
        { fields: ['host', 'maxVcpus', 'maxMemoryBytes'] },
      );
      for (const vm of vms) {
        const to = arriving.get(vm.id) as HostId;
        const u = used.get(to);
        if (vm.host?.id !== to && u)
          used.set(to, {
            vms: u.vms + 1,
            vcpus: u.vcpus + vm.maxVcpus,
            memoryBytes: u.memoryBytes + vm.maxMemoryBytes,
          });
      }
    }
    return hosts.flatMap((h) => {
      const facts = statuses.find((s) => s.hostId === h.id)?.facts;
      if (!facts) return [];
      if (q.domainType && domainTypeOf(h.acceleration, facts.kvm) !== q.domainType) return [];
      const u = used.get(h.id as HostId);
      return [
        {
          hostId: h.id,
          cpus: facts.cpus,
          memoryBytes: BigInt(facts.memoryBytes),
          cpuOvercommit: h.cpuOvercommit,
          memoryOvercommit: h.memoryOvercommit,
          allocatedVcpus: u?.vcpus ?? 0,
          allocatedMemoryBytes: u?.memoryBytes ?? 0n,
        },
      ];
    });
  }
}
