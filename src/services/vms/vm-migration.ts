import type { EntityManager } from '../../db/database.ts';
import { Host } from '../../entities/host.ts';
import type { HostId, VmId } from '../../entities/ids.ts';
import type { Operation } from '../../entities/operation.ts';
import { Snapshot } from '../../entities/snapshot.ts';
import { Vm } from '../../entities/vm.ts';
import type { DomainRef } from '../../libvirt/api/domains.ts';
import { JobStatsFlags } from '../../libvirt/api/jobs.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { MigrateFlags, migrate } from '../../libvirt/migrate.ts';
import { parseCapabilities } from '../../libvirt/xml/capabilities.ts';
import { type DomainPlatform, parseDomainPlatform } from '../../libvirt/xml/domain.ts';
import type { Actor } from '../actor.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import type { ImageToCache } from '../images/image-cache.ts';
import type { OperationContext } from '../operations/operation-runner.ts';
import { HostRooms } from './host-rooms.ts';
import {
  idleProgress,
  jobProgress,
  type MigrationEnds,
  type MigrationProgress,
} from './migration-progress.ts';
import { MigrationWatch, type ReportProgress } from './migration-watch.ts';
import { domainStateOn, hostFailure, VmHost } from './vm-host.ts';
import type { VmDeps, VmService } from './vm-service.ts';
import { vmStateOf } from './vm-state.ts';

/** MigrateInput is what vmMigrate asks for. */
export interface MigrateInput {
  /** host is where to; the scheduler chooses when absent. */
  readonly host?: HostId;
  /** bandwidthMiBs caps the transfer (MiB/s); unlimited when absent. */
  readonly bandwidthMiBs?: number;
  /** maxDowntimeMs bounds the pause at switch-over; libvirt's default (300 ms) when absent. */
  readonly maxDowntimeMs?: number;
  /** autoConverge slows the guest's vCPUs down when it dirties memory faster than it is sent. */
  readonly autoConverge?: boolean;
  /**
   * postCopy switches to post-copy when the first full pass over memory is done: the guest then
   * runs on the destination while the rest of its memory follows on demand, so a guest that
   * dirties memory faster than it is sent still moves. From the switch on the migration can no
   * longer be cancelled, and losing either host then stops the guest.
   */
  readonly postCopy?: boolean;
}

const FLAGS = MigrateFlags.LIVE | MigrateFlags.PERSIST_DEST | MigrateFlags.UNDEFINE_SOURCE;

/**
 * VmMigrationService moves running VMs between hosts live, as an operation that shows its
 * progress and can be cancelled. The controller drives libvirt on both hosts itself; the disk
 * overlay is copied incrementally onto an empty overlay made on the destination over the same
 * cached base image. The VM's host changes in the database only once the destination runs it;
 * a failure anywhere leaves it running in exactly one place, with nothing left behind.
 */
export class VmMigrationService {
  private readonly em: EntityManager;
  private readonly vms: VmService;
  private readonly deps: VmDeps;
  private readonly host: VmHost;
  private readonly rooms: HostRooms;

  constructor(em: EntityManager, vms: VmService, deps: VmDeps) {
    this.em = em;
    this.vms = vms;
    this.deps = deps;
    this.host = new VmHost(deps.monitor, deps.pools, deps.settings.network);
    this.rooms = new HostRooms(em, deps.monitor, deps.settings.placement);
  }

  /**
   * migrate checks that the VM can move (and where to), then moves it in the background. Admins
   * may move any VM; owners theirs when `vms.ownersMayMigrate` allows.
   */
  async migrate(
    actor: Actor,
    id: VmId,
    input: MigrateInput,
  ): Promise<{ vm: Vm; operation: Operation }> {
    if (!actor.isAdmin && !this.deps.settings.ownersMayMigrate)
      throw new ServiceError('FORBIDDEN', 'only admins may migrate VMs here');
    const vm = await this.vms.get(actor, id, 'manage');
    checkOptions(input);
    if (vm.state !== 'RUNNING' && vm.state !== 'PAUSED')
      throw new ServiceError(
        'INVALID_STATE',
        `only a running VM migrates live; this one is ${vm.state.toLowerCase()}`,
        'input.id',
      );
    const from = (vm.host as { id: HostId }).id;
    if (input.host === from)
      throw new ServiceError('INVALID', 'the VM is on that host already', 'input.host');
    const snapshots = await this.em.count(Snapshot, { vm: id });
    if (snapshots > 0)
      throw new ServiceError(
        'INVALID_STATE',
        `the VM has ${snapshots} snapshot(s), which live inside its disk on this host: delete them first`,
        'input.id',
      );
    const image = await vm.image?.load();
    if (!image?.sizeBytes || !image.sha512)
      throw new ServiceError(
        'REFUSED',
        "the VM's image was removed, so its base cannot be copied to another host",
        'input.id',
      );
    const { conn: src, dom } = await this.vms.domainOf(vm);
    const platform = parseDomainPlatform(await src.domains.xml(dom));
    // Seen on QEMU 7.2: after a post-copy switch a TCG guest hung in 3 of 11 trials.
    if (input.postCopy && platform.type !== 'kvm')
      throw new ServiceError(
        'REFUSED',
        `post-copy needs KVM acceleration; this VM runs under ${platform.type === 'qemu' ? 'TCG' : platform.type}, where QEMU can leave the guest hung after the switch`,
        'input.postCopy',
      );
    const base: ImageToCache = {
      id: image.id,
      format: image.format,
      sizeBytes: image.sizeBytes,
      sha512: image.sha512,
    };
    // Chosen and started under the placement lock: the running operation holds the VM's room on
    // the destination (HostRooms counts it) until the VM is recorded there.
    const operation = await this.deps.placement.run(
      'placement',
      'choosing where a VM moves',
      async () => {
        const to = await this.rooms.choose(
          { vcpus: vm.maxVcpus, memoryBytes: vm.maxMemoryBytes },
          { pinned: input.host ?? null, except: from, domainType: platform.type },
        );
        await this.preflight(to, platform);
        const ends: MigrationEnds = { fromHostId: from, toHostId: to };
        return this.deps.operations.start({
          kind: 'vmMigrate',
          actorId: actor.userId,
          targetType: 'VM',
          targetId: id,
          details: { ...idleProgress('PREPARING', ends) },
          work: (ctx) =>
            this.deps.locks.run(id, 'vmMigrate', () => this.move(id, base, ends, input, ctx)),
        });
      },
    );
    return { vm, operation };
  }

  private async hostName(id: HostId): Promise<string> {
    return (await this.em.findOneOrFail(Host, { id })).name;
  }

  // The destination must know the VM's machine type and run its CPU.
  private async preflight(to: HostId, platform: DomainPlatform): Promise<void> {
    const dst = this.host.connection(to);
    const name = await this.hostName(to);
    const caps = parseCapabilities(await dst.host.capabilities());
    const machine = caps.guests.some(
      (g) =>
        g.arch === platform.arch &&
        g.domainTypes.includes(platform.type) &&
        (!platform.machine || g.machines.includes(platform.machine)),
    );
    if (!machine)
      throw new ServiceError(
        'REFUSED',
        `host ${name} offers no ${platform.arch} ${platform.type} machine ${platform.machine}`,
        'input.host',
      );
    if (platform.cpuXml) {
      const fit = await dst.host.compareCpu(platform.cpuXml, {
        virttype: platform.type,
        arch: platform.arch,
        machine: platform.machine,
      });
      if (fit === 'incompatible')
        throw new ServiceError(
          'REFUSED',
          `host ${name}'s CPU cannot run this VM's CPU model`,
          'input.host',
        );
    }
  }

  private async move(
    id: VmId,
    image: ImageToCache,
    ends: MigrationEnds,
    input: MigrateInput,
    ctx: OperationContext,
  ): Promise<void> {
    const em = this.em.fork();
    const vm = await em.findOneOrFail(Vm, { id });
    const from = await em.findOneOrFail(Host, { id: ends.fromHostId as HostId });
    const to = await em.findOneOrFail(Host, { id: ends.toHostId as HostId });
    const report: ReportProgress = (fraction, p, what) => ctx.progress(fraction, what, { ...p });
    report(0, idleProgress('PREPARING', ends), `preparing ${to.name}`);
    await this.deps.states.record(id, 'MIGRATING', `moving to ${to.name}`);
    // On storage both hosts share, the disk stays where it is and only memory moves.
    const shared = from.sharedStorage !== null && from.sharedStorage === to.sharedStorage;
    let src: LibvirtConnection;
    let dst: LibvirtConnection;
    let dom: DomainRef;
    try {
      const base = await this.deps.cache.ensure(to.id, image, (f) =>
        report(f * 0.1, idleProgress('PREPARING', ends), `copying the base image to ${to.name}`),
      );
      ({ conn: src, dom } = await this.vms.domainOf(vm));
      dst = this.host.connection(to.id);
      if (shared) await this.host.checkShared(dst, vm, from.name, to.name);
      else {
        await this.host.createDisk(dst, vm, base);
        if (vm.hasSeed) await this.host.copySeed(src, dst, vm);
      }
      ctx.signal.throwIfAborted();
    } catch (err) {
      if (!shared) await this.host.removeVolumes(to.id, vm).catch(() => undefined);
      await this.observeOn(from, vm, 'its migration stopped before it began');
      throw isServiceError(err) ? err : hostFailure(err, 'preparing the migration failed');
    }

    const watch = new MigrationWatch({
      src,
      dom,
      ends,
      toName: to.name,
      maxDowntimeMs: input.maxDowntimeMs,
      postCopy: input.postCopy === true,
      ctx,
      report,
      monitor: this.deps.monitor,
      hosts: [from, to],
    });
    const address = migrationAddress(to.uri);
    let moved: DomainRef | null = null;
    try {
      moved = await migrate(src, dst, dom, {
        flags:
          FLAGS |
          // libvirt trusts cluster filesystems it can recognise; Kumo has just seen the disk
          // from both hosts (checkShared) and runs shared disks uncached, which is what
          // libvirt's check is there to ensure.
          (shared ? MigrateFlags.UNSAFE : MigrateFlags.NON_SHARED_INC) |
          (input.autoConverge ? MigrateFlags.AUTO_CONVERGE : 0) |
          (input.postCopy ? MigrateFlags.POSTCOPY : 0),
        params: {
          ...(shared ? {} : { migrateDisks: ['vda'] }),
          ...(address ? { migrateUri: `tcp://${address}` } : {}),
          ...(input.bandwidthMiBs !== undefined ? { bandwidthMiBs: input.bandwidthMiBs } : {}),
        },
        signal: watch.signal,
        onPhase: (phase) => {
          if (phase === 'finish') watch.switchingOver();
        },
        // What the guest used on the source since its last reading, before Confirm ends it.
        beforeConfirm: () => this.deps.metering.settle(from.id, src, dom),
      });
    } catch (err) {
      const lost = watch.lostHost();
      if (watch.inPostCopy) await this.settlePostCopyFailure(vm, from, to, src, dst, lost ?? err);
      else if ((await this.settleFailure(vm, from, to, src, dst, shared)) === 'SOURCE')
        throw ctx.signal.aborted
          ? err
          : hostFailure(lost ? new Error(lost) : err, 'the migration failed');
    } finally {
      watch.close();
    }
    await this.finish(vm, from, to, dst, moved, watch.progress, report, shared);
  }

  // Records the move once the destination runs the VM, then removes what is left on the source.
  private async finish(
    vm: Vm,
    from: Host,
    to: Host,
    dst: LibvirtConnection,
    moved: DomainRef | null,
    last: MigrationProgress,
    report: ReportProgress,
    shared: boolean,
  ): Promise<void> {
    const dom = moved ?? (await dst.domains.lookupByUuid(vm.domainUuid));
    const state = vmStateOf((await dst.domains.state(dom)).state);
    const em = this.em.fork();
    const row = await em.findOneOrFail(Vm, { id: vm.id });
    row.host = em.getReference(Host, to.id, { wrapped: true });
    await em.flush();
    await this.deps.states.record(vm.id, state, `moved from ${from.name} to ${to.name}`, true);
    const ends = { fromHostId: from.id, toHostId: to.id };
    report(0.97, { ...last, phase: 'CLEANING_UP' }, `cleaning up ${from.name}`);
    await this.host
      .teardown(from.id, vm, shared)
      .catch((err: unknown) =>
        process.emitWarning(
          `VM ${vm.id} moved, but its volumes on ${from.name} stay: ${String(err)}`,
        ),
      );
    const done = await dst.jobs.stats(dom, JobStatsFlags.COMPLETED).catch(() => null);
    const figures = done ? { ...jobProgress(done, ends), postCopy: last.postCopy } : last;
    report(1, { ...figures, phase: 'CLEANING_UP' }, `moved to ${to.name}`);
  }

  /**
   * settleFailure makes sure a VM whose migration failed runs in exactly one place: where
   * libvirt says it runs. Still on the source (the usual case: libvirt rolled back), the
   * destination's leftovers go; already on the destination (the failure came after the
   * switch-over), the move is kept.
   */
  private async settleFailure(
    vm: Vm,
    from: Host,
    to: Host,
    src: LibvirtConnection,
    dst: LibvirtConnection,
    shared: boolean,
  ): Promise<'SOURCE' | 'DESTINATION'> {
    const onSource = await domainStateOn(src, vm.domainUuid);
    const onDest = await domainStateOn(dst, vm.domainUuid);
    const runs = (s: string | null) => s !== null && s !== 'shutoff' && s !== 'unknown';
    if (!runs(onSource) && runs(onDest)) return 'DESTINATION';
    await this.host.teardown(to.id, vm, shared).catch(() => undefined);
    await this.observeOn(from, vm, 'its migration failed; it stays where it was');
    return 'SOURCE';
  }

  /**
   * settlePostCopyFailure handles a migration that failed after the switch to post-copy. Unless
   * the guest made it to the destination whole, its memory is now split between the hosts: both
   * halves stay (deleting either loses the guest), the VM is ERROR with what happened, and the
   * operation fails saying so.
   */
  private async settlePostCopyFailure(
    vm: Vm,
    from: Host,
    to: Host,
    src: LibvirtConnection,
    dst: LibvirtConnection,
    cause: unknown,
  ): Promise<void> {
    const onSource = await domainStateOn(src, vm.domainUuid);
    const onDest = await domainStateOn(dst, vm.domainUuid);
    if (onSource === null && onDest === 'running') return;
    const why = cause instanceof Error ? cause.message : String(cause);
    const split = `post-copy to ${to.name} failed (${why}): the VM's memory is split between ${from.name} and ${to.name}, both kept paused; an admin recovers it with libvirt's post-copy resume once both hosts are back, or removes the VM`;
    await this.deps.states.record(vm.id, 'ERROR', split, true);
    throw new ServiceError('UNAVAILABLE', split);
  }

  // Records the VM's state as its (source) host reports it: UNKNOWN while the host cannot say,
  // until the sweep after it is back.
  private async observeOn(host: Host, vm: Vm, reason: string): Promise<void> {
    const conn = this.deps.monitor.session(host.id)?.connection;
    const state = conn ? await domainStateOn(conn, vm.domainUuid) : 'unknown';
    await this.deps.states.record(
      vm.id,
      state === null ? 'ERROR' : state === 'unknown' ? 'UNKNOWN' : vmStateOf(state),
      reason,
      true,
    );
  }
}

/**
 * migrationAddress is where the source's QEMU sends the guest: the destination's address from
 * its URI. A URI without a host (the controller's own libvirtd) gives none, and libvirt uses
 * the destination's hostname.
 */
export function migrationAddress(uri: string): string | null {
  try {
    return new URL(uri).hostname || null;
  } catch {
    return null;
  }
}

function checkOptions(input: MigrateInput): void {
  const bounded = (v: number | undefined, min: number, max: number, field: string) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max))
      throw new ServiceError(
        'INVALID',
        `${field} must be between ${min} and ${max}`,
        `input.${field}`,
      );
  };
  bounded(input.bandwidthMiBs, 1, 1_000_000, 'bandwidthMiBs');
  bounded(input.maxDowntimeMs, 1, 60_000, 'maxDowntimeMs');
}
