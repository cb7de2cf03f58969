import type { DriverRegistry } from '../../drivers/registry.ts';
import type { HostFacts, HostMetrics, HypervisorSession } from '../../drivers/session.ts';
import type { KeepaliveOptions } from '../../libvirt/rpc/keepalive.ts';
import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
import { HostMonitorError } from './errors.ts';
import { HostLink } from './host-link.ts';
import { MetricsFeed, type MetricsFeedOptions } from './metrics-feed.ts';
import type {
  AdminState,
  HostMetricsSample,
  HostMonitorEvents,
  HostStatus,
  MonitoredHost,
  OpenedSession,
} from './types.ts';

/**
 * MONITOR_KEEPALIVE pings a silent host every second and gives up after 3 unanswered pings.
 * libvirt's own 5 s x 5 would take half a minute to notice a hung host.
 */
export const MONITOR_KEEPALIVE: KeepaliveOptions = { intervalMs: 1000, count: 3 };

/**
 * hungHostBoundMs is the longest a hung host (socket open, nothing answers) can stay ONLINE
 * with these keepalive settings: the last frame may arrive just after a check, the next check
 * finds less than an interval of silence, then `count` pings go unanswered, one per interval,
 * and the check after the last one gives up: (count + 2) x interval, 5 s with the defaults. A
 * host whose daemon dies or whose socket closes is seen at once.
 */
export function hungHostBoundMs(k: KeepaliveOptions = MONITOR_KEEPALIVE): number {
  return (k.count + 2) * k.intervalMs;
}

/** HostMonitorOptions tune the HostMonitor. */
export interface HostMonitorOptions {
  /** connectTimeoutMs bounds one connection attempt, handshake included. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** keepalive decides how fast a hung host is detected. @default MONITOR_KEEPALIVE */
  readonly keepalive?: KeepaliveOptions;
  /** backoff spaces reconnection attempts. @default DEFAULT_BACKOFF */
  readonly backoff?: Partial<BackoffOptions>;
  /** factsRefreshMs is how often a connected host's facts are read again. @default 300000 */
  readonly factsRefreshMs?: number;
}

type Listener<K extends keyof HostMonitorEvents> = (event: HostMonitorEvents[K]) => void;

/**
 * HostMonitor keeps one session per registered host and knows each host's state: ONLINE and
 * OFFLINE from the connection, DISABLED and MAINTENANCE from the admin. It reconnects lost hosts
 * with backoff, reads facts on every (re)connect and every few minutes, samples metrics, and
 * emits `stateChanged` and `factsChanged`. It holds no database: HostService persists what it
 * reports. close() ends every session, timer and feed.
 */
export class HostMonitor {
  private readonly registry: DriverRegistry;
  private readonly links = new Map<string, HostLink>();
  private readonly feeds = new Set<MetricsFeed>();
  private readonly listeners: { [K in keyof HostMonitorEvents]: Set<Listener<K>> } = {
    stateChanged: new Set(),
    factsChanged: new Set(),
    sessionLost: new Set(),
  };
  private readonly connectTimeoutMs: number;
  private readonly keepalive: KeepaliveOptions;
  private readonly backoff: BackoffOptions;
  private readonly factsRefreshMs: number;
  private closed = false;

  constructor(registry: DriverRegistry, opts: HostMonitorOptions = {}) {
    this.registry = registry;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.keepalive = opts.keepalive ?? MONITOR_KEEPALIVE;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.factsRefreshMs = opts.factsRefreshMs ?? 300_000;
  }

  /** on subscribes to an event and returns the function that unsubscribes. */
  on<K extends keyof HostMonitorEvents>(event: K, listener: Listener<K>): () => void {
    const set = this.listeners[event] as Set<Listener<K>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * add starts monitoring a host: it connects at once (unless DISABLED), or takes over the
   * session `opened` (from connect), and keeps it connected.
   */
  add(host: MonitoredHost, opened?: OpenedSession): void {
    this.open();
    if (this.links.has(host.id)) {
      throw new HostMonitorError('DUPLICATE_HOST', `host ${host.id} is monitored already`, host.id);
    }
    const link = new HostLink(host, {
      registry: this.registry,
      connectTimeoutMs: this.connectTimeoutMs,
      keepalive: this.keepalive,
      backoff: this.backoff,
      factsRefreshMs: this.factsRefreshMs,
      onState: (e) => this.emit('stateChanged', e),
      onFacts: (e) => this.emit('factsChanged', e),
      onLost: (e) => this.emit('sessionLost', e),
    });
    this.links.set(host.id, link);
    link.start(opened);
  }

  /**
   * connect opens a session to a host the monitor does not have yet, as the monitor would (its
   * keepalive), so that `add` can take it over instead of connecting again.
   */
  connect(target: {
    uri: string;
    credentials: MonitoredHost['credentials'];
    timeoutMs: number;
  }): Promise<HypervisorSession> {
    return this.registry.connect({ ...target, keepalive: this.keepalive });
  }

  /** update gives a host a new URI, credentials or pool and reconnects with them. */
  async update(host: MonitoredHost): Promise<void> {
    await this.link(host.id).update(host);
  }

  /** remove stops monitoring a host and closes its session. */
  async remove(hostId: string): Promise<void> {
    const link = this.link(hostId);
    this.links.delete(hostId);
    await link.stop();
  }

  /**
   * setAdminState puts a host in DISABLED or MAINTENANCE with a reason, or (null) gives it back
   * to its connection state. DISABLED closes the session and stops reconnecting.
   */
  async setAdminState(hostId: string, state: AdminState | null, reason = ''): Promise<void> {
    const why = reason || (state ? `set to ${state} by an admin` : '');
    await this.link(hostId).hold(state ? { state, reason: why } : null);
  }

  /** reconnect makes an OFFLINE host try again now (after the admin fixed something). */
  reconnect(hostId: string): void {
    this.link(hostId).reconnect();
  }

  /** has says whether the host is monitored. */
  has(hostId: string): boolean {
    return this.links.has(hostId);
  }

  /** ids are the monitored hosts. */
  ids(): string[] {
    return [...this.links.keys()];
  }

  /** spec is a monitored host as the monitor has it now (URI, credentials, admin hold). */
  spec(hostId: string): MonitoredHost {
    return this.link(hostId).spec();
  }

  status(hostId: string): HostStatus {
    return this.link(hostId).status();
  }

  statuses(): HostStatus[] {
    return [...this.links.values()].map((l) => l.status());
  }

  /** placeableHosts are the hosts new VMs may go to: ONLINE and held by no admin. */
  placeableHosts(): string[] {
    return this.statuses()
      .filter((s) => s.placeable)
      .map((s) => s.hostId);
  }

  /** session is the host's open session, for the services of later issues; null when not connected. */
  session(hostId: string): HypervisorSession | null {
    return this.link(hostId).currentSession();
  }

  /**
   * openSession opens an extra session to a connected host for bulk transfers, which would
   * hold the shared session's socket for their whole length; the caller closes it.
   */
  async openSession(hostId: string): Promise<HypervisorSession> {
    const link = this.link(hostId);
    if (!link.currentSession()) throw this.notConnected(hostId);
    return link.openExtra();
  }

  /** refreshFacts reads a connected host's facts again (and emits factsChanged if they differ). */
  async refreshFacts(hostId: string): Promise<HostFacts> {
    const facts = await this.link(hostId).refreshFacts();
    if (!facts) throw this.notConnected(hostId);
    return facts;
  }

  /** metrics samples a connected host's CPU and memory use now. */
  async metrics(hostId: string): Promise<HostMetrics> {
    const session = this.link(hostId).currentSession();
    if (!session) throw this.notConnected(hostId);
    return session.metrics();
  }

  /**
   * metricsFeed yields metrics of every connected host (or of `hostIds`) each interval, for the
   * admins' hostMetrics subscription. Hosts that are not connected are skipped, not waited for.
   */
  metricsFeed(opts: MetricsFeedOptions = {}): MetricsFeed {
    this.open();
    const round = async (): Promise<HostMetricsSample[]> => {
      const ids = opts.hostIds ?? [...this.links.keys()];
      const samples = await Promise.all(
        ids.map(async (hostId) => {
          const session = this.links.get(hostId)?.currentSession();
          if (!session) return null;
          const metrics = await session.metrics().catch(() => null);
          return metrics ? { hostId, metrics } : null;
        }),
      );
      return samples.filter((s) => s !== null);
    };
    const feed = new MetricsFeed(round, opts, () => this.feeds.delete(feed));
    this.feeds.add(feed);
    return feed;
  }

  /** close ends every feed and session and forgets every listener; the monitor is done. */
  async close(): Promise<void> {
    this.closed = true;
    for (const feed of [...this.feeds]) feed.end();
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((l) => l.stop()));
    for (const set of Object.values(this.listeners)) set.clear();
  }

  private emit<K extends keyof HostMonitorEvents>(event: K, payload: HostMonitorEvents[K]): void {
    for (const listener of [...(this.listeners[event] as Set<Listener<K>>)]) {
      try {
        listener(payload);
      } catch (err) {
        // A listener's bug must not stop the monitor keeping hosts connected.
        process.emitWarning(`HostMonitor ${event} listener threw: ${String(err)}`);
      }
    }
  }

  private link(hostId: string): HostLink {
    this.open();
    const link = this.links.get(hostId);
    if (!link) throw new HostMonitorError('UNKNOWN_HOST', `no host ${hostId} is monitored`, hostId);
    return link;
  }

  private notConnected(hostId: string): HostMonitorError {
    const s = this.link(hostId).status();
    return new HostMonitorError(
      'NOT_CONNECTED',
      `host ${hostId} is ${s.state} (${s.reason}); it has no open session`,
      hostId,
    );
  }

  private open(): void {
    if (this.closed) throw new HostMonitorError('CLOSED', 'the host monitor is closed');
  }
}
