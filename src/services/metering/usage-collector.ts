import type { EntityManager } from '../../db/database.ts';
import type { UserId, VmId } from '../../entities/ids.ts';
import { UsageRecord } from '../../entities/usage-record.ts';
import { User } from '../../entities/user.ts';
import { Vm } from '../../entities/vm.ts';
import {
  type DomainRef,
  type DomainStats,
  ListFlags,
  StatsGroups,
} from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import { COUNTERS, type Counters, countersOf, type Reading, usedBetween } from './counters.ts';

// What a reading needs of each running domain, in one call per host.
const GROUPS = StatsGroups.VCPU | StatsGroups.BALLOON | StatsGroups.BLOCK | StatsGroups.INTERFACE;

const MINUTE_MS = 60_000;

// Readings not renewed for this many intervals are dropped.
const STALE_READINGS = 30;

/** VmUsage is what one VM used between two readings, and how fast. */
export interface VmUsage {
  readonly vmId: VmId;
  readonly ownerId: UserId;
  readonly hostId: string;
  readonly at: Date;
  /** seconds is the time since the reading before (0 for a first sight). */
  readonly seconds: number;
  readonly used: Counters;
  readonly memoryBytes: bigint;
  readonly vcpus: number;
}

/**
 * UsageCollector meters what VMs consume. Every interval it reads all running domains of each
 * connected host with one get-all-domain-stats call, turns their cumulative counters into
 * what each VM used since its last reading (see usedBetween for restarts and migrations), and
 * adds that to the VM's record for the minute, counted against the VM's owner. Readings live
 * in memory: after a controller restart the first one is a baseline.
 */
export class UsageCollector {
  private readonly monitor: HostMonitor;
  private readonly fork: () => EntityManager;
  private readonly intervalMs: number;
  private readonly onRound: (usage: readonly VmUsage[]) => Promise<void>;
  private readonly readings = new Map<string, Reading>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;
  // Rounds and settles run one at a time: two could race for one minute record.
  private serial: Promise<unknown> = Promise.resolve();

  constructor(opts: {
    monitor: HostMonitor;
    fork: () => EntityManager;
    intervalMs: number;
    /** onRound hears what every VM read in a round used, once recorded; the round waits for it. */
    onRound?: (usage: readonly VmUsage[]) => Promise<void>;
  }) {
    this.monitor = opts.monitor;
    this.fork = opts.fork;
    this.intervalMs = opts.intervalMs;
    this.onRound = opts.onRound ?? (async () => {});
  }

  start(): void {
    this.timer = setInterval(() => {
      // A round still running (slow hosts) is not overlapped: two would race for one record.
      if (this.running) return;
      this.running = this.collect()
        .catch((err: unknown) => process.emitWarning(`metering: ${String(err)}`))
        .finally(() => {
          this.running = null;
        });
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** collect reads every connected host once and records what its VMs used. */
  collect(now: Date = new Date()): Promise<void> {
    return this.inTurn(() => this.round(now));
  }

  /**
   * settle records what one domain used up to now on a host it is about to leave (a
   * migration's source, before Confirm ends it there), so the use between its last reading and
   * the move is not lost: the destination counts its own run from zero.
   */
  settle(hostId: string, conn: LibvirtConnection, dom: DomainRef): Promise<void> {
    return this.inTurn(async () => {
      const records = await conn.domains.stats([dom], GROUPS);
      await this.meter(hostId, records, new Date());
    });
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.serial.then(work, work);
    this.serial = next.catch(() => undefined);
    return next;
  }

  private async round(now: Date): Promise<void> {
    const hosts = this.monitor.statuses().filter((s) => s.connected);
    const usage = await Promise.all(hosts.map((h) => this.collectHost(h.hostId, now)));
    // A VM back within a while (restarted, or arrived by migration) counts its new run from
    // zero; one gone longer starts again from a baseline, and removed VMs are forgotten.
    for (const [uuid, r] of this.readings)
      if (now.getTime() - r.at.getTime() > STALE_READINGS * this.intervalMs)
        this.readings.delete(uuid);
    await this.onRound(usage.flat());
  }

  private async collectHost(hostId: string, now: Date): Promise<VmUsage[]> {
    const conn = this.monitor.session(hostId)?.connection;
    if (!conn) return [];
    return this.meter(hostId, await conn.domains.stats([], GROUPS, ListFlags.ACTIVE), now);
  }

  // Turns one host's stats records into usage, recorded against the VMs' owners.
  private async meter(
    hostId: string,
    records: readonly DomainStats[],
    now: Date,
  ): Promise<VmUsage[]> {
    const em = this.fork();
    const vms = await em.find(Vm, { domainUuid: { $in: records.map((r) => r.domain.uuid) } });
    const byUuid = new Map(vms.map((vm) => [vm.domainUuid, vm]));
    const usage: VmUsage[] = [];
    for (const { domain, stats } of records) {
      const vm = byUuid.get(domain.uuid);
      if (!vm) continue;
      const { counters, memoryBytes } = countersOf(stats);
      const reading: Reading = { hostId, run: domain.id, at: now, counters, memoryBytes };
      const before = this.readings.get(domain.uuid);
      this.readings.set(domain.uuid, reading);
      usage.push({
        vmId: vm.id,
        ownerId: vm.owner.id as UserId,
        hostId,
        at: now,
        seconds: before ? (now.getTime() - before.at.getTime()) / 1000 : 0,
        used: usedBetween(before, reading),
        memoryBytes,
        vcpus: vm.vcpus,
      });
    }
    await this.record(em, usage, vms, now);
    return usage;
  }

  // Adds each VM's use to its record for the minute `now` falls in.
  private async record(
    em: EntityManager,
    usage: readonly VmUsage[],
    vms: readonly Vm[],
    now: Date,
  ): Promise<void> {
    const spent = usage.filter((u) => u.seconds > 0);
    if (spent.length === 0) return;
    const start = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
    const existing = await em.find(UsageRecord, {
      vmId: { $in: spent.map((u) => u.vmId) },
      granularity: 'MINUTE',
      start,
    });
    const rows = new Map(existing.map((r) => [`${r.vmId} ${r.owner.id}`, r]));
    const names = new Map(vms.map((vm) => [vm.id, vm.name]));
    for (const u of spent) {
      const row =
        rows.get(`${u.vmId} ${u.ownerId}`) ??
        em.create(UsageRecord, {
          vmId: u.vmId,
          vmName: names.get(u.vmId) ?? '',
          owner: em.getReference(User, u.ownerId),
          granularity: 'MINUTE',
          start,
        });
      for (const c of COUNTERS) row[c] = BigInt(row[c]) + u.used[c];
      row.memoryByteSeconds =
        BigInt(row.memoryByteSeconds) +
        (u.memoryBytes * BigInt(Math.round(u.seconds * 1000))) / 1000n;
    }
    await em.flush();
  }
}
