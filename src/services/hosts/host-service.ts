import DataLoader from 'dataloader';
import type { EntityManager } from '../../db/database.ts';
import type { HostCredentials } from '../../drivers/credentials.ts';
import { type DriverError, isDriverError } from '../../drivers/errors.ts';
import type { DriverRegistry } from '../../drivers/registry.ts';
import { type Acceleration, Host } from '../../entities/host.ts';
import type { HostId } from '../../entities/ids.ts';
import { Vm } from '../../entities/vm.ts';
import { type Actor, requireAdmin } from '../actor.ts';
import { ServiceError, type ServiceErrorCode } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import { type Row, viewLoader } from '../views.ts';
import { allocationsOf, type HostAllocation } from './host-allocation.ts';
import type { HostMonitor } from './host-monitor.ts';
import { HOST_VIEW_COLUMNS, HostView } from './host-view.ts';
import type { AdminHold } from './types.ts';

/** HostChanges are what hostUpdate may change. */
export interface HostChanges {
  readonly name?: string;
  readonly enabled?: boolean;
  readonly maintenance?: boolean;
  readonly cpuOvercommit?: number;
  readonly memoryOvercommit?: number;
  readonly acceleration?: Acceleration;
  /** sharedStorage sets (or, empty, clears) the shared storage the host mounts. */
  readonly sharedStorage?: string;
}

/** HostDeps are the process-wide parts hosts need. */
export interface HostDeps {
  readonly registry: DriverRegistry;
  readonly monitor: HostMonitor;
  readonly secrets: SecretBox;
  /** connectTimeoutMs bounds the first connection of hostAdd. */
  readonly connectTimeoutMs: number;
  /** localUri is where a libvirtd on the controller's machine would answer. */
  readonly localUri: string;
  /** events carries the state changes this service makes to subscribers. */
  readonly events: EventBus;
}

/** sealContext binds sealed credentials to their row. */
export function sealContext(id: HostId): string {
  return `host:${id}`;
}

/** monitoredHost is what the monitor needs of a Host row (its credentials opened). */
export function monitoredHost(host: Host, secrets: SecretBox) {
  const credentials = host.credentials
    ? (secrets.open(host.credentials, sealContext(host.id)) as unknown as HostCredentials)
    : ({ kind: 'none' } as const);
  const hold = adminHoldOf(host);
  return {
    id: host.id,
    uri: host.uri,
    credentials,
    ...(hold ? { admin: hold } : {}),
  };
}

const EVACUATING: AdminHold = { state: 'EVACUATING', reason: 'its VMs are being moved away' };

/** adminHoldOf is the admin's hold a Host row says the host is under, or null. */
export function adminHoldOf(
  host: Pick<Host, 'enabled' | 'maintenance' | 'state'>,
): AdminHold | null {
  if (!host.enabled) return { state: 'DISABLED', reason: 'disabled by an admin' };
  if (host.maintenance && host.state === 'EVACUATING') return EVACUATING;
  if (host.maintenance) return { state: 'MAINTENANCE', reason: 'in maintenance' };
  return null;
}

/**
 * HostService adds, changes and removes hypervisor hosts (admins) and lists them (anyone signed
 * in). A host is added only after a first real connection succeeded, so a wrong URI, a wrong
 * certificate or an unconfirmed SSH host key is refused with nothing saved.
 */
export class HostService {
  private readonly em: EntityManager;
  private readonly deps: HostDeps;
  private readonly views: DataLoader<HostId, HostView | null>;
  private readonly allocations: DataLoader<HostId, HostAllocation>;

  constructor(em: EntityManager, deps: HostDeps) {
    this.em = em;
    this.deps = deps;
    this.views = viewLoader(em, Host, HOST_VIEW_COLUMNS, HostView.ofRow);
    this.allocations = new DataLoader(
      async (ids) => {
        const sums = await allocationsOf(em, ids);
        return ids.map((id) => sums.get(id) as HostAllocation);
      },
      { cache: false },
    );
  }

  /** list returns hosts by name; any signed-in caller may list them (the schema checks that). */
  async list(q: {
    first: number;
    after?: string;
  }): Promise<{ hosts: HostView[]; hasNextPage: boolean }> {
    const rows = await this.em
      .createQueryBuilder(Host)
      .select([...HOST_VIEW_COLUMNS])
      .where(q.after ? { name: { $gt: q.after } } : {})
      .orderBy({ name: 'asc' })
      .limit(q.first + 1)
      .execute<Row[]>('all');
    return {
      hosts: rows.slice(0, q.first).map(HostView.ofRow),
      hasNextPage: rows.length > q.first,
    };
  }

  /** view reads a host as the API shows it, or null; the hosts of one tick share a query. */
  view(id: HostId): Promise<HostView | null> {
    return this.views.load(id);
  }

  /** allocation is what the VMs on a host hold of it; the hosts of one tick share a query. */
  allocation(id: HostId): Promise<HostAllocation> {
    return this.allocations.load(id);
  }

  async get(id: HostId): Promise<Host> {
    const host = await this.em.findOne(Host, { id });
    if (!host) throw new ServiceError('NOT_FOUND', `no host ${id}`, 'input.id');
    return host;
  }

  /**
   * add connects to the host once, records its facts, stores the credentials sealed and hands
   * the host to the monitor. An SSH host whose key is not given is refused with the key it
   * offered, for the admin to check and send back as the pinned fingerprint.
   */
  async add(
    actor: Actor,
    input: {
      name: string;
      uri: string;
      credentials: HostCredentials;
      acceleration?: Acceleration;
    },
  ): Promise<Host> {
    requireAdmin(actor, 'manage hosts');
    const name = input.name.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      throw new ServiceError(
        'INVALID',
        'a host name is 1-64 letters, digits, dots, dashes or underscores',
        'input.name',
      );
    }
    if (await this.em.count(Host, { name }))
      throw new ServiceError('CONFLICT', `a host named ${name} exists`, 'input.name');
    const driver = await this.deps.registry.validate(input.uri, input.credentials).catch(refuse);
    if (await this.em.count(Host, { uri: input.uri }))
      throw new ServiceError('CONFLICT', `${input.uri} is already a host`, 'input.uri');
    // The session that proved the host works is the one the monitor keeps: no second
    // handshake, and the host takes VMs as soon as this returns.
    const session = await this.deps.monitor
      .connect({
        uri: input.uri,
        credentials: input.credentials,
        timeoutMs: this.deps.connectTimeoutMs,
      })
      .catch(refuse);
    let handedOver = false;
    try {
      const facts = await session.facts().catch(refuse);
      const acceleration = input.acceleration ?? 'AUTO';
      checkAcceleration(acceleration, facts.kvm);
      const host = this.em.create(Host, {
        name,
        uri: input.uri,
        acceleration,
        driver: driver.schemes.find((s) => input.uri.startsWith(`${s}:`)) ?? driver.name,
        state: 'ONLINE',
        facts,
        lastSeenAt: new Date(),
      });
      host.credentials =
        input.credentials.kind === 'none'
          ? null
          : this.deps.secrets.seal(input.credentials, sealContext(host.id));
      await this.em.flush();
      // A sync of all hosts running meanwhile may have found the new row first.
      if (!this.deps.monitor.has(host.id)) {
        this.deps.monitor.add(monitoredHost(host, this.deps.secrets), { session, facts });
        handedOver = true;
      }
      this.deps.events.publish('hostChanged', host.id);
      return host;
    } finally {
      if (!handedOver) await session.close().catch(() => undefined);
    }
  }

  /**
   * localOffer says whether a libvirtd answers at the local URI (and is not a host yet), so an
   * admin can add it with one hostAdd; null when none answers.
   */
  async localOffer(actor: Actor): Promise<{ uri: string; hostname: string } | null> {
    requireAdmin(actor, 'manage hosts');
    const uri = this.deps.localUri;
    if (await this.em.count(Host, { uri })) return null;
    try {
      const session = await this.deps.registry.connect({
        uri,
        credentials: { kind: 'none' },
        timeoutMs: 2000,
        keepalive: false,
      });
      try {
        return { uri, hostname: (await session.facts()).hostname };
      } finally {
        await session.close();
      }
    } catch {
      return null;
    }
  }

  /** metrics streams host metrics every interval (admins only); ending the iteration stops it. */
  metrics(actor: Actor, hostIds: readonly HostId[] | null, intervalMs: number) {
    requireAdmin(actor, 'manage hosts');
    return this.deps.monitor.metricsFeed({ intervalMs, ...(hostIds ? { hostIds } : {}) });
  }

  /**
   * update renames a host, disables or enables it, puts it in or out of maintenance, sets
   * overcommit and acceleration (VMs take a new acceleration at their next definition).
   */
  async update(actor: Actor, id: HostId, changes: HostChanges): Promise<Host> {
    requireAdmin(actor, 'manage hosts');
    const host = await this.get(id);
    if (changes.name !== undefined && changes.name !== host.name) {
      if (await this.em.count(Host, { name: changes.name }))
        throw new ServiceError('CONFLICT', `a host named ${changes.name} exists`, 'input.name');
      host.name = changes.name;
    }
    // Idle guests share cores densely (a CI fleet, desktops); memory is taken, not shared.
    for (const [key, value, max] of [
      ['cpuOvercommit', changes.cpuOvercommit, 64],
      ['memoryOvercommit', changes.memoryOvercommit, 16],
    ] as const) {
      if (value === undefined) continue;
      if (!(value >= 1 && value <= max))
        throw new ServiceError('INVALID', `${key} must be between 1 and ${max}`, `input.${key}`);
      host[key] = value;
    }
    if (changes.acceleration !== undefined) {
      checkAcceleration(changes.acceleration, host.facts?.kvm ?? true);
      host.acceleration = changes.acceleration;
    }
    if (changes.sharedStorage !== undefined) {
      if (await this.em.count(Vm, { host: id }))
        throw new ServiceError(
          'REFUSED',
          "a host's storage changes only while no VM lives there",
          'input.sharedStorage',
        );
      host.sharedStorage = checkStorageName(changes.sharedStorage);
    }
    if (changes.enabled !== undefined) host.enabled = changes.enabled;
    if (changes.maintenance !== undefined) host.maintenance = changes.maintenance;
    await this.applyHold(host, adminHoldOf(host));
    return host;
  }

  /**
   * evacuating puts a host in maintenance as EVACUATING while its VMs are moved away (true),
   * then plain MAINTENANCE (false). The caller (the evacuation) has checked the actor.
   */
  async evacuating(id: HostId, on: boolean): Promise<Host> {
    const host = await this.em.findOneOrFail(Host, { id }, { refresh: true });
    host.maintenance = true;
    await this.applyHold(
      host,
      on
        ? EVACUATING
        : adminHoldOf({ enabled: host.enabled, maintenance: true, state: 'MAINTENANCE' }),
    );
    return host;
  }

  // Records an admin hold (or its lifting) and tells the monitor and subscribers.
  private async applyHold(host: Host, hold: AdminHold | null): Promise<void> {
    const previous = host.state;
    // Lifting a hold leaves the state to the monitor, which reports ONLINE or OFFLINE itself.
    if (hold) host.state = hold.state;
    await this.em.flush();
    await this.deps.monitor.setAdminState(host.id, hold?.state ?? null, hold?.reason);
    this.deps.events.publish('hostChanged', host.id);
    if (hold && previous !== hold.state) {
      this.deps.events.publish('hostStateChanged', {
        hostId: host.id,
        state: hold.state,
        previous,
        reason: hold.reason,
        at: new Date(),
      });
    }
  }

  /** remove forgets a host; refused while VMs live there (evacuation comes with migration). */
  async remove(actor: Actor, id: HostId): Promise<void> {
    requireAdmin(actor, 'manage hosts');
    const host = await this.get(id);
    const vms = await this.em.count(Vm, { host: id });
    if (vms > 0)
      throw new ServiceError(
        'REFUSED',
        `${vms} VMs live on ${host.name}: move or remove them first`,
        'input.id',
      );
    await this.deps.monitor.remove(id).catch(() => undefined);
    this.em.remove(host);
    await this.em.flush();
    this.deps.events.publish('hostChanged', id);
  }
}

function checkStorageName(name: string): string | null {
  const n = name.trim();
  if (n === '') return null;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(n))
    throw new ServiceError(
      'INVALID',
      'a shared storage name is 1-64 letters, digits, dots, dashes or underscores',
      'input.sharedStorage',
    );
  return n;
}

// KVM is refused where the host said it has none (a host never seen yet is given the benefit).
function checkAcceleration(acceleration: Acceleration, kvm: boolean): void {
  if (acceleration === 'KVM' && !kvm)
    throw new ServiceError(
      'INVALID',
      'the host offers no KVM: use AUTO or TCG',
      'input.acceleration',
    );
}

// A driver's refusal becomes an expected failure saying what to check; the offered SSH host key
// is part of the message so the admin can confirm it.
function refuse(err: unknown): never {
  if (!isDriverError(err)) throw err;
  const d: DriverError = err;
  const codes: Partial<Record<string, ServiceErrorCode>> = {
    INVALID_URI: 'INVALID',
    UNSUPPORTED_SCHEME: 'INVALID',
    INVALID_CREDENTIALS: 'INVALID',
    HOST_KEY_UNKNOWN: 'REFUSED',
    HOST_KEY_MISMATCH: 'REFUSED',
    AUTH_FAILED: 'REFUSED',
    TLS_UNTRUSTED: 'REFUSED',
  };
  const field =
    d.code === 'INVALID_URI' || d.code === 'UNSUPPORTED_SCHEME' ? 'input.uri' : 'input.credentials';
  const key = d.hostKey
    ? ` The host offered ${d.hostKey}: if that is its key, send it as the pinned fingerprint.`
    : '';
  throw new ServiceError(
    codes[d.code] ?? 'UNAVAILABLE',
    `${d.message} (${d.code}).${key}`,
    field,
    d.hostKey ? { offeredHostKey: d.hostKey } : {},
  );
}
