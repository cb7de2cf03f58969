import type { EntityManager } from '../../db/database.ts';
import type { HypervisorSession } from '../../drivers/session.ts';
import type { HostId, VmId } from '../../entities/ids.ts';
import { Vm, type VmState } from '../../entities/vm.ts';
import { type DomainState, domainState, StatsGroups } from '../../libvirt/api/domains.ts';
import type { Subscription } from '../../libvirt/api/events.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import type { HostWatch } from '../hosts/host-watch.ts';
import { storagePeers } from '../hosts/storage-peers.ts';
import type { ImageCache } from '../images/image-cache.ts';
import { Limiter } from '../limiter.ts';
import { ROUND_HOSTS, type Rounds } from '../rounds.ts';
import { domainStateOn, type VmHost } from './vm-host.ts';
import { forgetVm } from './vm-rows.ts';
import { CREATION_INTERRUPTED, type VmStateRecorder, vmStateOf } from './vm-state.ts';

interface Attached {
  readonly session: HypervisorSession;
  readonly subscription: Subscription;
}

/**
 * VmWatcher keeps VM states true to libvirt without polling each VM: it subscribes to every
 * connected host's domain lifecycle events and records what they say, marks a host's VMs
 * UNKNOWN while the host is unreachable, and sweeps each host every interval (and on every
 * reconnection) to correct whatever drifted: a domain that vanished or changed state behind the
 * controller's back, or events lost while disconnected. A sweep also deletes the host's copies
 * of images removed from the catalog while it was unreachable.
 */
export class VmWatcher {
  private readonly fork: () => EntityManager;
  private readonly monitor: HostMonitor;
  private readonly watch: HostWatch;
  private readonly states: VmStateRecorder;
  private readonly cache: ImageCache;
  private readonly host: VmHost;
  private readonly intervalMs: number;
  private readonly rounds: Rounds;
  private sweeping: Promise<void> | null = null;
  // Sweeps of many hosts at once would hold all their rows and replies in memory together.
  private readonly slots = new Limiter(ROUND_HOSTS);
  private readonly attached = new Map<string, Attached>();
  // Per host, the chain of work in order (events, sweeps), so a later state never loses to an earlier one.
  private readonly queues = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: Array<() => void> = [];
  private stopped = false;

  constructor(
    fork: () => EntityManager,
    monitor: HostMonitor,
    watch: HostWatch,
    states: VmStateRecorder,
    cache: ImageCache,
    host: VmHost,
    intervalMs: number,
    rounds: Rounds,
  ) {
    this.host = host;
    this.rounds = rounds;
    this.fork = fork;
    this.monitor = monitor;
    this.watch = watch;
    this.states = states;
    this.cache = cache;
    this.intervalMs = intervalMs;
  }

  /** start listens to the monitor and begins the periodic sweeps. */
  start(): void {
    this.unsubscribe.push(
      this.monitor.on('stateChanged', (change) => {
        if (!this.watch.holds(change.hostId)) return;
        if (this.monitor.session(change.hostId)) void this.sweepHost(change.hostId);
        else this.enqueue(change.hostId, () => this.lost(change.hostId, change.reason));
      }),
      this.watch.on('gained', (hostId) => {
        if (this.monitor.session(hostId)) void this.sweepHost(hostId);
      }),
      this.watch.on('lost', (hostId) => void this.enqueue(hostId, () => this.detach(hostId))),
    );
    // A sweep still running when the next is due (a big fleet, slow hosts) is not doubled.
    this.timer = setInterval(() => {
      if (!this.sweeping) void this.sweepAll();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** sweepAll sweeps every connected host it looks after, now (tests, and the timer). */
  sweepAll(): Promise<void> {
    const round = this.rounds
      .time('reconcile', () =>
        Promise.all(
          this.monitor
            .statuses()
            .filter((s) => s.connected && this.watch.holds(s.hostId))
            .map((s) => this.sweepHost(s.hostId)),
        ),
      )
      .then(() => undefined)
      .finally(() => {
        if (this.sweeping === round) this.sweeping = null;
      });
    this.sweeping = round;
    return round;
  }

  /** stop ends the sweeps and the event subscriptions. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.queues.values()]);
    await Promise.allSettled([...this.attached.values()].map((a) => a.subscription.close()));
    this.attached.clear();
  }

  // A host's sweep waits for a free slot before it joins the host's queue, so that the host's
  // events are not held up behind a sweep that is itself waiting.
  private sweepHost(hostId: string): Promise<void> {
    return this.slots.run(() => this.enqueue(hostId, () => this.sweep(hostId)));
  }

  private enqueue(hostId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(hostId) ?? Promise.resolve())
      .then(() => (this.stopped ? undefined : work()))
      .catch((err: unknown) =>
        process.emitWarning(
          `VM watcher, host ${hostId}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    this.queues.set(hostId, next);
    void next.finally(() => {
      if (this.queues.get(hostId) === next) this.queues.delete(hostId);
    });
    return next;
  }

  // Subscribes to the host's events once per session, then compares every VM of the host with
  // its domain.
  private async sweep(hostId: string): Promise<void> {
    const session = this.monitor.session(hostId);
    if (!session || !this.watch.holds(hostId)) return;
    const conn = session.connection;
    if (this.attached.get(hostId)?.session !== session) {
      const subscription = await conn.events.onLifecycle((e) =>
        this.enqueue(hostId, async () => {
          const vm = await this.fork().findOne(Vm, {
            domainUuid: e.domain.uuid,
            host: hostId as HostId,
          });
          // A VM being made or moved is recorded by the operation doing it.
          if (!vm || vm.state === 'CREATING' || vm.state === 'MIGRATING') return;
          if (e.event === 'undefined') {
            await this.states.recordOn(
              hostId as HostId,
              vm.id,
              'ERROR',
              'its domain was undefined on the host',
            );
            return;
          }
          const now = await conn.domains.state(e.domain).catch(() => null);
          if (now)
            await this.states.recordOn(
              hostId as HostId,
              vm.id,
              vmStateOf(now.state),
              `libvirt: ${e.event}`,
            );
        }),
      );
      this.attached.set(hostId, { session, subscription });
    }
    const settled = { $nin: ['CREATING', 'MIGRATING'] as VmState[] };
    const rows = await this.fork()
      .createQueryBuilder(Vm, 'v')
      .select(['id', 'state', 'domainUuid', 'stateReason'])
      .where({ host: hostId as HostId, state: settled })
      .execute<Array<Pick<Vm, 'id' | 'state' | 'domainUuid' | 'stateReason'>>>('all');
    const interrupted = (v: Pick<Vm, 'state' | 'stateReason'>) =>
      v.state === 'ERROR' && v.stateReason === CREATION_INTERRUPTED;
    await this.removeInterrupted(
      hostId as HostId,
      rows.filter(interrupted).map((v) => v.id),
    );
    const vms = rows.filter((v) => !interrupted(v));
    const stats = await conn.domains.stats([], StatsGroups.STATE);
    const byUuid = new Map(
      stats.map((s) => [s.domain.uuid, domainState(Number(s.stats['state.state'] ?? 0))]),
    );
    for (const vm of vms) {
      const state = byUuid.get(vm.domainUuid);
      if (state === undefined)
        await this.states.recordOn(
          hostId as HostId,
          vm.id,
          'ERROR',
          'its domain is gone from the host',
        );
      // Most VMs are as recorded: only a difference costs a write (and its re-read).
      else if (vmStateOf(state) !== vm.state)
        await this.states.recordOn(
          hostId as HostId,
          vm.id,
          vmStateOf(state),
          'found so on the host',
        );
    }
    // Only what is not the host's own needs the database again: in a settled fleet, nothing.
    const mine = new Set<string>(rows.map((v) => v.domainUuid));
    const foreign = [...byUuid.keys()].filter((uuid) => !mine.has(uuid));
    let peerList: Promise<HostId[]> | null = null;
    const peers = () => {
      peerList ??= storagePeers(this.fork(), hostId as HostId);
      return peerList;
    };
    if (foreign.length > 0) {
      const elsewhere = await this.fork().find(Vm, {
        domainUuid: { $in: foreign },
        host: { $ne: hostId as HostId },
        state: settled,
      });
      // On shared storage the files of the peers' VMs are in this pool too, and theirs here.
      for (const vm of elsewhere)
        await this.foundElsewhere(
          hostId as HostId,
          vm,
          byUuid.get(vm.domainUuid) ?? 'shutoff',
          (await peers()).includes(vm.host?.id as HostId),
        );
    }
    const own = new Set<string>(rows.map((v) => v.id));
    await this.strayVolumes(hostId as HostId, conn, byUuid, own, peers);
    // Copies of images removed while this host was away go now.
    await this.cache.pruneOrphans(hostId as HostId);
  }

  /**
   * foundElsewhere settles a VM whose domain is on this host while the database has it on
   * another: a migration the controller did not see end (it stopped meanwhile), or one made
   * outside Kumo. Where it runs is where it is; a copy that does not run, beside one that does
   * (or exists) where the database says, is stale and goes. A VM is never started here.
   */
  private async foundElsewhere(
    hostId: HostId,
    vm: Vm,
    here: DomainState,
    shared: boolean,
  ): Promise<void> {
    const recorded = vm.host?.id as HostId;
    const other = this.monitor.session(recorded)?.connection;
    const there = other ? await domainStateOn(other, vm.domainUuid) : 'unknown';
    const runs = (s: DomainState | null | 'unknown') =>
      s !== null && s !== 'unknown' && s !== 'shutoff';
    if (runs(here)) {
      if (runs(there)) {
        process.emitWarning(`VM ${vm.id} runs on two hosts; left for an admin to settle`);
        return;
      }
      await this.adopt(hostId, vm, here, 'found running on another host than recorded');
      if (there !== 'unknown') await this.host.teardown(recorded, vm, shared);
      return;
    }
    if (there === null) await this.adopt(hostId, vm, here, 'found on another host than recorded');
    else if (there !== 'unknown') await this.host.teardown(hostId, vm, shared);
  }

  // VMs whose creation a controller restart cut short go, with whatever was made of them.
  private async removeInterrupted(hostId: HostId, ids: readonly VmId[]): Promise<void> {
    if (ids.length === 0) return;
    const em = this.fork();
    for (const vm of await em.find(Vm, { id: { $in: [...ids] } })) {
      await this.host.teardown(hostId, vm);
      await forgetVm(em, vm.id);
    }
  }

  // Volumes of a VM that lives on another host and has no domain here are what a migration
  // that failed while this host was unreachable left behind. The host's own VMs' volumes are
  // where they belong.
  private async strayVolumes(
    hostId: HostId,
    conn: LibvirtConnection,
    domains: ReadonlyMap<string, DomainState>,
    own: ReadonlySet<string>,
    peers: () => Promise<HostId[]>,
  ): Promise<void> {
    const owners = (await this.host.vmVolumeOwners(conn)).filter((id) => !own.has(id));
    if (owners.length === 0) return;
    const strays = await this.fork().find(Vm, {
      id: { $in: owners },
      host: { $nin: await peers() },
      state: { $nin: ['CREATING', 'MIGRATING'] },
    });
    for (const vm of strays)
      if (!domains.has(vm.domainUuid)) await this.host.removeVolumes(hostId, vm);
  }

  private async adopt(hostId: HostId, vm: Vm, state: DomainState, reason: string) {
    await this.fork().nativeUpdate(Vm, { id: vm.id }, { host: hostId });
    await this.states.record(vm.id, vmStateOf(state), reason, true);
  }

  // Another replica looks after the host now: its events are no longer this one's to record.
  private async detach(hostId: string): Promise<void> {
    const attached = this.attached.get(hostId);
    this.attached.delete(hostId);
    await attached?.subscription.close().catch(() => undefined);
  }

  private async lost(hostId: string, reason: string): Promise<void> {
    this.attached.delete(hostId);
    const vms = await this.fork().find(Vm, {
      host: hostId as HostId,
      state: { $nin: ['CREATING', 'MIGRATING', 'ERROR'] },
    });
    for (const vm of vms)
      await this.states.recordOn(
        hostId as HostId,
        vm.id,
        'UNKNOWN',
        `its host cannot be reached: ${reason}`,
      );
  }
}
