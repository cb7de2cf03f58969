import type { EntityManager } from '../../db/database.ts';
import type { UserId, VmId } from '../../entities/ids.ts';
import { Vm } from '../../entities/vm.ts';
import type { VmService } from '../vms/vm-service.ts';
import type { ConsumptionBreach, QuotaGuard } from './quota-guard.ts';

/**
 * OveruseEnforcer applies the overuse policy of consumption limits to running VMs. After each
 * metering round it looks at the users metered and those with VMs already marked: a user over
 * a limit whose policy is SUSPEND has each running VM marked with the limit and when it will be
 * paused (`overuseLimit`, `suspendAt`), and paused once that time has come. When the user is
 * under every such limit again (a new window, a raised limit), the marks go; VMs it paused stay
 * paused until their owner resumes them.
 */
export class OveruseEnforcer {
  private readonly fork: () => EntityManager;
  private readonly guard: QuotaGuard;
  private readonly vms: () => VmService;

  constructor(opts: { fork: () => EntityManager; guard: QuotaGuard; vms: () => VmService }) {
    this.fork = opts.fork;
    this.guard = opts.guard;
    this.vms = opts.vms;
  }

  /** check applies the policy to `metered` users and to every user with a marked VM. */
  async check(metered: Iterable<UserId>, now: Date = new Date()): Promise<void> {
    const suspending = Object.values(this.guard.rules.overuse).some((o) => o.action === 'SUSPEND');
    const em = this.fork();
    const marked = await em.find(Vm, { overuseLimit: { $ne: null } }, { fields: ['owner'] });
    const owners = new Set<UserId>([
      ...(suspending ? metered : []),
      ...marked.map((vm) => vm.owner.id as UserId),
    ]);
    for (const owner of owners) await this.checkOwner(owner, now);
  }

  private async checkOwner(owner: UserId, now: Date): Promise<void> {
    const breach = (await this.guard.breachesOf(owner, now)).find(
      (b) => this.guard.rules.overuse[b.limit].action === 'SUSPEND',
    );
    const em = this.fork();
    const vms = await em.find(Vm, {
      owner,
      $or: [{ overuseLimit: { $ne: null } }, { state: 'RUNNING' }],
    });
    const due: VmId[] = [];
    for (const vm of vms) {
      if (!breach) {
        vm.overuseLimit = null;
        vm.suspendAt = null;
      } else if (!vm.overuseLimit) {
        if (vm.state !== 'RUNNING') continue;
        const grace = this.guard.rules.overuse[breach.limit].graceSeconds;
        vm.overuseLimit = breach.limit;
        vm.suspendAt = new Date(now.getTime() + grace * 1000);
        if (grace === 0) due.push(vm.id);
      } else if (vm.state === 'RUNNING' && vm.suspendAt && vm.suspendAt <= now) due.push(vm.id);
    }
    await em.flush();
    // One VM that cannot be paused now (its host away) is tried again next round.
    if (breach)
      for (const id of due)
        await this.suspend(id, breach).catch((err: unknown) =>
          process.emitWarning(`overuse: could not pause VM ${id}: ${String(err)}`),
        );
  }

  private suspend(id: VmId, b: ConsumptionBreach): Promise<unknown> {
    return this.vms().withDomain(id, 'overuse suspend', async ({ state, conn, dom, observe }) => {
      if (state !== 'RUNNING') return;
      await conn.domains.suspend(dom);
      await observe(
        `paused: its owner has consumed ${b.used} ${b.limit} this period, over the limit of ${b.max}, until ${b.until.toISOString()}`,
      );
    });
  }
}
