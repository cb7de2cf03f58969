import { isDeepStrictEqual } from 'node:util';
import { type DriverError, type DriverErrorCode, toDriverError } from '../../drivers/errors.ts';
import type { DriverRegistry } from '../../drivers/registry.ts';
import type { HostFacts, HypervisorSession } from '../../drivers/session.ts';
import { redactUri } from '../../drivers/uri.ts';
import type { KeepaliveOptions } from '../../libvirt/rpc/keepalive.ts';
import { type BackoffOptions, backoffDelay } from './backoff.ts';
import type {
  AdminHold,
  HostFactsChange,
  HostSessionLost,
  HostState,
  HostStateChange,
  HostStatus,
  MonitoredHost,
  OpenedSession,
} from './types.ts';

/** LinkSettings are the monitor-wide settings and callbacks a HostLink works with. */
export interface LinkSettings {
  readonly registry: DriverRegistry;
  readonly connectTimeoutMs: number;
  readonly keepalive: KeepaliveOptions;
  readonly backoff: BackoffOptions;
  /** factsRefreshMs is how often the facts of a connected host are read again. */
  readonly factsRefreshMs: number;
  readonly onState: (change: HostStateChange) => void;
  readonly onFacts: (change: HostFactsChange) => void;
  readonly onLost: (lost: HostSessionLost) => void;
}

// Failures that retrying cannot fix: they wait for the admin to change the host's settings.
const NEEDS_ADMIN: ReadonlySet<DriverErrorCode> = new Set([
  'INVALID_URI',
  'UNSUPPORTED_SCHEME',
  'INVALID_CREDENTIALS',
  'HOST_KEY_UNKNOWN',
  'HOST_KEY_MISMATCH',
  'AUTH_UNSUPPORTED',
]);

/**
 * HostLink keeps one host connected: it connects, reads facts, watches the session and
 * reconnects with backoff when it is lost, and applies the admin's DISABLED and MAINTENANCE.
 * Each change of host, admin hold or shutdown starts a new epoch; results of an attempt begun in
 * an older epoch are discarded, so a slow connect never resurrects a host that was disabled.
 */
export class HostLink {
  private host: MonitoredHost;
  private readonly settings: LinkSettings;
  private session: HypervisorSession | null = null;
  private facts: HostFacts | null = null;
  private state: HostState = 'OFFLINE';
  private reason = 'not connected yet';
  private since = new Date();
  private admin: AdminHold | null;
  private failures = 0;
  private lastError: DriverError | null = null;
  private timer: NodeJS.Timeout | null = null;
  private factsTimer: NodeJS.Timeout | null = null;
  private nextAttemptAt: Date | null = null;
  private connecting = false;
  // The attempt under way, awaited by stop() so that no socket outlives the monitor.
  private inflight: Promise<void> | null = null;
  private epoch = 0;
  private stopped = false;

  constructor(host: MonitoredHost, settings: LinkSettings) {
    this.host = host;
    this.settings = settings;
    this.admin = host.admin ?? null;
  }

  get id(): string {
    return this.host.id;
  }

  /** start begins connecting (or takes over a session opened already), unless the host is DISABLED. */
  start(opened?: OpenedSession): void {
    if (this.admin) this.setState(this.admin.state, this.admin.reason);
    if (opened && this.admin?.state !== 'DISABLED') this.adopt(opened.session, opened.facts);
    else {
      void opened?.session.close().catch(() => undefined);
      this.connectNow();
    }
  }

  /** stop closes the session and cancels retries for good. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.disconnect();
    await this.inflight;
  }

  /** update swaps the host's URI, credentials or pool and reconnects with them. */
  async update(host: MonitoredHost): Promise<void> {
    this.host = host;
    this.failures = 0;
    await this.disconnect();
    this.settle('reconnecting with new settings');
    this.connectNow();
  }

  /** hold sets or clears (null) the admin's state. */
  async hold(admin: AdminHold | null): Promise<void> {
    this.admin = admin;
    if (admin?.state === 'DISABLED') {
      this.setState('DISABLED', admin.reason);
      await this.disconnect();
      return;
    }
    if (admin) this.setState(admin.state, admin.reason);
    else
      this.settle(this.session ? 'enabled by an admin' : (this.lastError?.message ?? 'connecting'));
    this.failures = 0;
    this.connectNow();
  }

  /** reconnect tries at once instead of waiting for the next backoff delay. */
  reconnect(): void {
    this.connectNow();
  }

  /** refreshFacts reads the facts again over the open session. */
  async refreshFacts(): Promise<HostFacts | null> {
    const session = this.session;
    if (!session) return null;
    const facts = await session.facts(this.factsOptions());
    if (this.session === session) this.setFacts(facts);
    return facts;
  }

  /**
   * openExtra opens a second session with the host's current settings, for work that would
   * hold the shared one's socket (bulk volume transfers). The caller closes it.
   */
  openExtra(): Promise<HypervisorSession> {
    return this.settings.registry.connect({
      uri: this.host.uri,
      credentials: this.host.credentials,
      timeoutMs: this.settings.connectTimeoutMs,
      keepalive: this.settings.keepalive,
    });
  }

  currentSession(): HypervisorSession | null {
    return this.session;
  }

  /** spec is the host as the link has it now: its URI, credentials and admin hold. */
  spec(): MonitoredHost {
    const { admin: _, ...host } = this.host;
    return this.admin ? { ...host, admin: this.admin } : host;
  }

  status(): HostStatus {
    return {
      hostId: this.host.id,
      state: this.state,
      reason: this.reason,
      since: this.since,
      connected: this.session !== null,
      placeable: this.state === 'ONLINE',
      admin: this.admin,
      facts: this.facts,
      lastError: this.lastError,
      failures: this.failures,
      nextAttemptAt: this.nextAttemptAt,
    };
  }

  private connectNow(): void {
    this.clearTimer();
    if (this.stopped || this.connecting || this.session) return;
    if (this.admin?.state === 'DISABLED') return;
    this.connecting = true;
    const attempt = this.attempt(this.epoch).finally(() => {
      if (this.inflight === attempt) this.inflight = null;
    });
    this.inflight = attempt;
  }

  private async attempt(epoch: number): Promise<void> {
    const where = redactUri(this.host.uri);
    let session: HypervisorSession | null = null;
    try {
      session = await this.settings.registry.connect({
        uri: this.host.uri,
        credentials: this.host.credentials,
        timeoutMs: this.settings.connectTimeoutMs,
        keepalive: this.settings.keepalive,
      });
      const facts = await session.facts(this.factsOptions());
      if (epoch !== this.epoch) {
        await session.close();
        return;
      }
      this.connecting = false;
      this.adopt(session, facts);
    } catch (err) {
      await session?.close().catch(() => undefined);
      if (epoch !== this.epoch) return;
      this.connecting = false;
      this.failed(toDriverError(err, where, 'connect'));
    }
  }

  private adopt(session: HypervisorSession, facts: HostFacts): void {
    this.session = session;
    this.failures = 0;
    this.lastError = null;
    // Facts first, so that a listener of the ONLINE change finds them in place.
    this.setFacts(facts);
    this.settle('connected');
    // Storage fills and pools come and go while the host stays connected.
    this.factsTimer = setInterval(() => {
      this.refreshFacts().catch(() => undefined);
    }, this.settings.factsRefreshMs);
    this.factsTimer.unref();
    void session.closed.then((reason) => {
      if (this.session !== session) return;
      this.stopFactsTimer();
      this.session = null;
      this.lastError = reason;
      this.settings.onLost({ hostId: this.host.id, reason: reason.message, at: new Date() });
      this.settle(reason.message, reason.code);
      this.scheduleRetry();
    });
  }

  private failed(err: DriverError): void {
    this.failures++;
    this.lastError = err;
    this.settle(err.message, err.code);
    if (!NEEDS_ADMIN.has(err.code)) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.clearTimer();
    if (this.stopped || this.admin?.state === 'DISABLED') return;
    const delay = backoffDelay(this.failures, this.settings.backoff);
    this.nextAttemptAt = new Date(Date.now() + delay);
    this.timer = setTimeout(() => this.connectNow(), delay);
    // The monitor's owner keeps the process alive; a pending retry alone must not.
    this.timer.unref();
  }

  private stopFactsTimer(): void {
    if (this.factsTimer) clearInterval(this.factsTimer);
    this.factsTimer = null;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextAttemptAt = null;
  }

  private async disconnect(): Promise<void> {
    this.epoch++;
    this.connecting = false;
    this.clearTimer();
    this.stopFactsTimer();
    const session = this.session;
    this.session = null;
    await session?.close().catch(() => undefined);
  }

  // settle sets the state the connection implies, unless an admin holds the host.
  private settle(reason: string, code?: DriverErrorCode): void {
    if (this.admin) {
      this.reason = this.admin.reason;
      return;
    }
    this.setState(this.session ? 'ONLINE' : 'OFFLINE', reason, code);
  }

  private setState(state: HostState, reason: string, code?: DriverErrorCode): void {
    const previous = this.state;
    this.reason = reason;
    if (state === previous) return;
    this.state = state;
    this.since = new Date();
    this.settings.onState({
      hostId: this.host.id,
      state,
      previous,
      reason,
      ...(code ? { code } : {}),
      at: this.since,
    });
  }

  private setFacts(facts: HostFacts): void {
    const previous = this.facts;
    this.facts = facts;
    if (previous !== null && isDeepStrictEqual(previous, facts)) return;
    this.settings.onFacts({ hostId: this.host.id, facts, previous, at: new Date() });
  }

  private factsOptions(): { storagePool?: string } {
    return this.host.storagePool ? { storagePool: this.host.storagePool } : {};
  }
}
