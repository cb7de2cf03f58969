import type { EntityManager } from '../../db/database.ts';
import type { UserId, VmId } from '../../entities/ids.ts';
import { Vm } from '../../entities/vm.ts';
import {
  type DomainRef,
  type DomainStats,
  ListFlags,
  StatsGroups,
} from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { UNBOUNDED } from '../../libvirt/rpc/caller.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import type { HostWatch } from '../hosts/host-watch.ts';
import { Limiter } from '../limiter.ts';
import { ROUND_HOSTS, Rounds } from '../rounds.ts';
import { type Counters, countersOf, type Reading, usedBetween } from './counters.ts';
import { addUsage } from './usage-records.ts';
import { bucketOf } from './usage-rollup.ts';

// What a reading needs of each running domain, in one call per host.
const GROUPS = StatsGroups.VCPU | StatsGroups.BALLOON | StatsGroups.BLOCK | StatsGroups.INTERFACE;

// Readings not renewed for this many intervals are dropped.
const STALE_READINGS = 30;

// Domains whose use is written together: a round makes a few statements per thousand VMs
// rather than two per host (2,500 hosts made 5,000 a round, most of its time).
const WRITE_DOMAINS = 2000;

/**
 * HostRecords are one host's running domains as its stats call returned them, and when the
 * reply came: the counters are the daemon's at about that moment, not at the round's start (a
 * round over many hosts reads the last ones seconds later, and rates over the round's clock
 * were off by that much).
 */
interface HostRecords {
  readonly hostId: string;
  readonly records: readonly DomainStats[];
  readonly at: Date;
}

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
  private readonly watch: HostWatch;
  private readonly fork: () => EntityManager;
  private readonly intervalMs: number;
  private readonly onRound: (usage: readonly VmUsage[]) => Promise<void>;
  private readonly rounds: Rounds;
  // Many hosts' replies decoded at once would all be in memory together.
  private readonly slots = new Limiter(ROUND_HOSTS);
  private readonly readings = new Map<string, Reading>();
  private readonly unanswered = new Set<string>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;
  // Rounds and settles run one at a time: two could race for one minute record.
  private serial: Promise<unknown> = Promise.resolve();

  constructor(opts: {
    monitor: HostMonitor;
    /** watch names the hosts this process meters (the others are other replicas'). */
    watch: HostWatch;
    fork: () => EntityManager;
    intervalMs: number;
    /** onRound hears what every VM read in a round used, once recorded; the round waits for it. */
    onRound?: (usage: readonly VmUsage[]) => Promise<void>;
    /** rounds hears how long each round took. */
    rounds?: Rounds;
  }) {
    this.monitor = opts.monitor;
    this.watch = opts.watch;
    this.fork = opts.fork;
    this.intervalMs = opts.intervalMs;
    this.onRound = opts.onRound ?? (async () => {});
    this.rounds = opts.rounds ?? new Rounds();
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

  /** collect reads every connected host this process looks after once and records what its VMs used. */
  collect(now: Date = new Date()): Promise<void> {
    return this.inTurn(() => this.rounds.time('metering', () => this.round(now)));
  }

  /**
   * settle records what one domain used up to now on a host it is about to leave (a
   * migration's source, before Confirm ends it there), so the use between its last reading and
   * the move is not lost: the destination counts its own run from zero.
   */
  settle(hostId: string, conn: LibvirtConnection, dom: DomainRef): Promise<void> {
    return this.inTurn(async () => {
      const records = await conn.domains.stats([dom], GROUPS);
      const at = new Date();
      await this.meter([{ hostId, records, at }], at);
    });
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.serial.then(work, work);
    this.serial = next.catch(() => undefined);
    return next;
  }

  // Hosts are read ROUND_HOSTS at a time; their records are written WRITE_DOMAINS at a time,
  // one write after another, and a read that fills a batch waits for its write (so memory
  // holds about one batch and the hosts being read).
  private async round(now: Date): Promise<void> {
    const hosts = this.monitor.statuses().filter((s) => s.connected && this.watch.holds(s.hostId));
    const usage: VmUsage[] = [];
    let batch: HostRecords[] = [];
    let domains = 0;
    let writes = Promise.resolve();
    const write = () => {
      const read = batch;
      batch = [];
      domains = 0;
      writes = writes.then(async () => {
        usage.push(...(await this.meterOrWarn(read, now)));
      });
      return writes;
    };
    await Promise.all(
      hosts.map((h) =>
        this.slots.run(async () => {
          const read = await this.read(h.hostId);
          if (!read) return;
          batch.push(read);
          domains += read.records.length;
          if (domains >= WRITE_DOMAINS) await write();
        }),
      ),
    );
    await write();
    // A VM back within a while (restarted, or arrived by migration) counts its new run from
    // zero; one gone longer starts again from a baseline, and removed VMs are forgotten.
    for (const [uuid, r] of this.readings)
      if (now.getTime() - r.at.getTime() > STALE_READINGS * this.intervalMs)
        this.readings.delete(uuid);
    await this.onRound(usage);
  }

  // Reads one host, if it answers within an interval. A host's stats call can wait long (for a
  // migration coming in to finish): the round goes on without it, and no second call is sent
  // while the first is unanswered, so calls never pile up in its daemon. Its VMs' readings
  // stay as they were, so what they use meanwhile is counted at the next reading.
  private async read(hostId: string): Promise<HostRecords | null> {
    const conn = this.monitor.session(hostId)?.connection;
    if (!conn || this.unanswered.has(hostId)) return null;
    this.unanswered.add(hostId);
    const call = conn.domains
      .stats([], GROUPS, ListFlags.ACTIVE, UNBOUNDED)
      .finally(() => this.unanswered.delete(hostId));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.intervalMs);
    });
    try {
      const records = await Promise.race([call, late]);
      return records?.length ? { hostId, records, at: new Date() } : null;
    } catch (err) {
      process.emitWarning(`metering ${hostId}: ${String(err)}`);
      return null;
    } finally {
      clearTimeout(timer);
      call.catch(() => undefined);
    }
  }

  // A batch that cannot be written (the database away) loses that interval's use of its VMs;
  // the round and the next ones go on.
  private async meterOrWarn(read: readonly HostRecords[], now: Date): Promise<VmUsage[]> {
    try {
      return await this.meter(read, now);
    } catch (err) {
      process.emitWarning(`metering ${read.length} hosts: ${String(err)}`);
      return [];
    }
  }

  // Turns hosts' stats records into usage, recorded against the VMs' owners. A domain on a
  // host other than its VM's (a migration's destination, until the move is finished) is not
  // read: the source's run is the one counted until then, and the destination's counts from
  // zero afterwards, so nothing is counted twice. The use goes to the minute `now` falls in.
  private async meter(read: readonly HostRecords[], now: Date): Promise<VmUsage[]> {
    const em = this.fork();
    const vms = await vmsOf(
      em,
      read.flatMap((h) => h.records),
    );
    const usage: VmUsage[] = [];
    for (const { hostId, records, at } of read)
      for (const { domain, stats } of records) {
        const vm = vms.get(domain.uuid);
        if (!vm || vm.hostId !== hostId) continue;
        const { counters, memoryBytes } = countersOf(stats);
        const reading: Reading = { hostId, run: domain.id, at, counters, memoryBytes };
        const before = this.readings.get(domain.uuid);
        this.readings.set(domain.uuid, reading);
        usage.push({
          vmId: vm.id,
          ownerId: vm.ownerId,
          hostId,
          at,
          seconds: before ? (at.getTime() - before.at.getTime()) / 1000 : 0,
          used: usedBetween(before, reading),
          memoryBytes,
          vcpus: vm.vcpus,
        });
      }
    await record(em, usage, vms, now);
    return usage;
  }
}

/** MeteredVm is what metering needs of a VM: read as plain columns, a round hydrates nothing. */
interface MeteredVm {
  readonly id: VmId;
  readonly ownerId: UserId;
  readonly hostId: string | null;
  readonly name: string;
  readonly vcpus: number;
}

// Reads the VMs of the domains in `records`, by domain UUID.
async function vmsOf(
  em: EntityManager,
  records: readonly DomainStats[],
): Promise<Map<string, MeteredVm>> {
  if (records.length === 0) return new Map();
  const rows = await em
    .createQueryBuilder(Vm, 'v')
    .select(['id', 'owner', 'host', 'name', 'vcpus', 'domainUuid'])
    .where({ domainUuid: { $in: records.map((r) => r.domain.uuid) } })
    .execute<Array<Record<string, unknown>>>('all', false);
  return new Map(
    rows.map((r) => [
      String(r.domain_uuid),
      {
        id: r.id as VmId,
        ownerId: r.owner_id as UserId,
        hostId: r.host_id === null ? null : String(r.host_id),
        name: String(r.name),
        vcpus: Number(r.vcpus),
      },
    ]),
  );
}

// Adds each VM's use to its record for the minute `now` falls in.
function record(
  em: EntityManager,
  usage: readonly VmUsage[],
  vms: ReadonlyMap<string, MeteredVm>,
  now: Date,
): Promise<void> {
  const names = new Map([...vms.values()].map((vm) => [vm.id, vm.name]));
  const start = bucketOf(now, 'MINUTE');
  return addUsage(
    em,
    usage
      .filter((u) => u.seconds > 0)
      .map((u) => ({
        vmId: u.vmId,
        vmName: names.get(u.vmId) ?? '',
        ownerId: u.ownerId,
        granularity: 'MINUTE',
        start,
        amounts: {
          ...u.used,
          memoryByteSeconds: (u.memoryBytes * BigInt(Math.round(u.seconds * 1000))) / 1000n,
        },
      })),
  );
}
