import type { EntityManager } from '@mikro-orm/core';
import type { Host } from '../../entities/host.ts';
import type { HostId, OperationId } from '../../entities/ids.ts';
import { Operation } from '../../entities/operation.ts';
import { Vm } from '../../entities/vm.ts';
import { type Actor, requireAdmin } from '../actor.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import type { HostService } from '../hosts/host-service.ts';
import type { OperationContext, OperationRunner } from '../operations/operation-runner.ts';
import type { VmMigrationService } from './vm-migration.ts';

/** EvacuationDeps are what an evacuation needs beyond one request. */
export interface EvacuationDeps {
  readonly operations: OperationRunner;
  /** concurrency is how many VMs move off one host at a time. */
  readonly concurrency: number;
  /** migrations gives a migration service on a fresh unit of work (one per VM moved). */
  readonly migrations: () => VmMigrationService;
}

/** Afterwards says what becomes of an evacuated host: it stays in maintenance, or goes. */
export type Afterwards = 'MAINTENANCE' | 'REMOVE';

/**
 * VmEvacuation empties a host of its running VMs by live migration, a few at a time, each its
 * own vmMigrate operation under one hostEvacuate operation. The host takes no new VMs from the
 * start (EVACUATING) and is MAINTENANCE once empty, or is removed. Stopped VMs keep their disks
 * where they are, so they stay (and keep a host from being removed).
 */
export class VmEvacuation {
  private readonly em: EntityManager;
  private readonly hosts: HostService;
  private readonly deps: EvacuationDeps;

  constructor(em: EntityManager, hosts: HostService, deps: EvacuationDeps) {
    this.em = em;
    this.hosts = hosts;
    this.deps = deps;
  }

  /**
   * evacuate starts emptying the host (admins only); the operation is null when no VM runs
   * there, and then the host is put in maintenance (or removed) at once.
   */
  async evacuate(
    actor: Actor,
    id: HostId,
    then: Afterwards,
  ): Promise<{ host: Host; operation: Operation | null }> {
    requireAdmin(actor, 'manage hosts');
    const host = await this.hosts.get(id);
    if (then === 'REMOVE') {
      const stopped = await this.em.count(Vm, {
        host: id,
        state: { $nin: ['RUNNING', 'PAUSED', 'MIGRATING'] },
      });
      if (stopped > 0)
        throw new ServiceError(
          'REFUSED',
          `${stopped} VMs that are not running have their disks on ${host.name}: remove them first`,
          'input.id',
        );
    }
    const running = await this.running(id);
    if (running.length === 0) {
      if (then === 'REMOVE') await this.hosts.remove(actor, id);
      else await this.hosts.update(actor, id, { maintenance: true });
      return { host, operation: null };
    }
    await this.hosts.evacuating(id, true);
    const operation = await this.deps.operations.start({
      kind: 'hostEvacuate',
      actorId: actor.userId,
      targetType: 'HOST',
      targetId: id,
      work: (ctx) => this.empty(actor, host, then, ctx),
    });
    return { host, operation };
  }

  private running(id: HostId): Promise<Vm[]> {
    return this.em
      .fork()
      .find(Vm, { host: id, state: { $in: ['RUNNING', 'PAUSED'] } }, { orderBy: { id: 'asc' } });
  }

  private async empty(
    actor: Actor,
    host: Host,
    then: Afterwards,
    ctx: OperationContext,
  ): Promise<void> {
    const vms = await this.running(host.id);
    const failures: string[] = [];
    const children = new Set<OperationId>();
    const cancel = () => {
      for (const child of children) this.deps.operations.cancel(child);
    };
    ctx.signal.addEventListener('abort', cancel, { once: true });
    let done = 0;
    ctx.progress(0, `moving ${vms.length} VMs away`);
    const queue = [...vms];
    const worker = async () => {
      for (let vm = queue.shift(); vm && !ctx.signal.aborted; vm = queue.shift()) {
        const failure = await this.moveOne(actor, vm, children);
        if (failure) failures.push(`${vm.name}: ${failure}`);
        done++;
        ctx.progress(done / vms.length, `moved ${done - failures.length} of ${vms.length} VMs`);
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.min(this.deps.concurrency, vms.length) }, worker),
      );
    } finally {
      ctx.signal.removeEventListener('abort', cancel);
    }
    ctx.signal.throwIfAborted();
    const left = await this.running(host.id);
    if (then === 'REMOVE' && failures.length === 0 && left.length === 0)
      await this.hosts.remove(actor, host.id);
    else await this.hosts.evacuating(host.id, false);
    if (failures.length > 0)
      throw new ServiceError(
        'UNAVAILABLE',
        `${failures.length} of ${vms.length} VMs stayed on ${host.name}: ${failures.join('; ')}`,
      );
  }

  // Moves one VM where the scheduler chooses; says why not when it did not move.
  private async moveOne(actor: Actor, vm: Vm, children: Set<OperationId>): Promise<string | null> {
    try {
      const { operation } = await this.deps.migrations().migrate(actor, vm.id, {});
      children.add(operation.id);
      await this.deps.operations.settled(operation.id);
      children.delete(operation.id);
      const ended = await this.em.fork().findOneOrFail(Operation, { id: operation.id });
      return ended.status === 'SUCCEEDED' ? null : (ended.error ?? ended.status.toLowerCase());
    } catch (err) {
      if (isServiceError(err)) return err.message;
      throw err;
    }
  }
}
