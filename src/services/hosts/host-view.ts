import type { Acceleration, Host, HostFacts, HostState } from '../../entities/host.ts';
import type { HostId, ReplicaId } from '../../entities/ids.ts';
import { dateOf, dateOrNull, type Row } from '../views.ts';

/**
 * HostView is a host as the API shows it: plain values, no unit of work behind it. Pages of
 * VMs name up to a hundred hosts, and lists of thousands of hosts are read straight into views
 * rather than hydrated as entities (see VmView); a host changed through the services is shown
 * by viewing its entity. Its credentials are never part of it.
 */
export class HostView {
  readonly id: HostId;
  readonly name: string;
  readonly uri: string;
  readonly driver: string;
  readonly state: HostState;
  readonly enabled: boolean;
  readonly maintenance: boolean;
  readonly lastError: string | null;
  readonly facts: HostFacts | null;
  readonly cpuOvercommit: number;
  readonly memoryOvercommit: number;
  readonly acceleration: Acceleration;
  readonly sharedStorage: string | null;
  readonly createdAt: Date;
  readonly lastSeenAt: Date | null;
  readonly replicaId: ReplicaId | null;

  constructor(v: HostView) {
    this.id = v.id;
    this.name = v.name;
    this.uri = v.uri;
    this.driver = v.driver;
    this.state = v.state;
    this.enabled = v.enabled;
    this.maintenance = v.maintenance;
    this.lastError = v.lastError;
    this.facts = v.facts;
    this.cpuOvercommit = v.cpuOvercommit;
    this.memoryOvercommit = v.memoryOvercommit;
    this.acceleration = v.acceleration;
    this.sharedStorage = v.sharedStorage;
    this.createdAt = v.createdAt;
    this.lastSeenAt = v.lastSeenAt;
    this.replicaId = v.replicaId;
  }

  /** of views an entity (a host the services just added or changed). */
  static of(h: Host): HostView {
    return new HostView({
      id: h.id,
      name: h.name,
      uri: h.uri,
      driver: h.driver,
      state: h.state,
      enabled: h.enabled,
      maintenance: h.maintenance,
      lastError: h.lastError ?? null,
      facts: h.facts ?? null,
      cpuOvercommit: h.cpuOvercommit,
      memoryOvercommit: h.memoryOvercommit,
      acceleration: h.acceleration,
      sharedStorage: h.sharedStorage ?? null,
      createdAt: h.createdAt,
      lastSeenAt: h.lastSeenAt ?? null,
      replicaId: (h.replica?.id ?? null) as ReplicaId | null,
    });
  }

  /** ofRow views a row read with the query builder (HOST_VIEW_COLUMNS; the replica as its id). */
  static ofRow(r: Row): HostView {
    return new HostView({
      id: r.id as HostId,
      name: r.name as string,
      uri: r.uri as string,
      driver: r.driver as string,
      state: r.state as HostState,
      enabled: Boolean(r.enabled),
      maintenance: Boolean(r.maintenance),
      lastError: (r.lastError ?? null) as string | null,
      // SQLite gives JSON columns as text, PostgreSQL as values.
      facts: (typeof r.facts === 'string'
        ? JSON.parse(r.facts)
        : (r.facts ?? null)) as HostFacts | null,
      cpuOvercommit: Number(r.cpuOvercommit),
      memoryOvercommit: Number(r.memoryOvercommit),
      acceleration: r.acceleration as Acceleration,
      sharedStorage: (r.sharedStorage ?? null) as string | null,
      createdAt: dateOf(r.createdAt),
      lastSeenAt: dateOrNull(r.lastSeenAt),
      replicaId: (r.replica ?? null) as ReplicaId | null,
    });
  }
}

/** HOST_VIEW_COLUMNS are the properties a view is read from. */
export const HOST_VIEW_COLUMNS = [
  'id',
  'name',
  'uri',
  'driver',
  'state',
  'enabled',
  'maintenance',
  'lastError',
  'facts',
  'cpuOvercommit',
  'memoryOvercommit',
  'acceleration',
  'sharedStorage',
  'createdAt',
  'lastSeenAt',
  'replica',
] as const;
