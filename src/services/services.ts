import type { EntityManager } from '../db/database.ts';
import { AuditService } from './audit/audit-service.ts';
import type { AuthSettings } from './auth/auth-service.ts';
import { AuthService } from './auth/auth-service.ts';
import type { ScryptParams } from './auth/password.ts';
import type { EventBus } from './events.ts';
import { type ExecDeps, ExecService } from './exec/exec-service.ts';
import { type HostDeps, HostService } from './hosts/host-service.ts';
import { type ImageListDeps, ImageListService } from './image-lists/image-list-service.ts';
import { ListPublisher, type PublisherSettings } from './image-lists/list-publisher.ts';
import { type ImageDeps, ImageService } from './images/image-service.ts';
import { UsageService } from './metering/usage-service.ts';
import type { CancelRelay } from './operations/cancel-relay.ts';
import type { OperationRunner } from './operations/operation-runner.ts';
import { OperationService } from './operations/operation-service.ts';
import { PermissionService } from './permissions/permission-service.ts';
import { type QuotaLimits, QuotaService } from './quotas/quota-service.ts';
import { ReplicaService } from './replicas/replica-service.ts';
import { UserService } from './users/user-service.ts';
import { SnapshotService } from './vms/snapshot-service.ts';
import { type ConsoleDeps, VmConsoleService } from './vms/vm-console.ts';
import { VmEvacuation } from './vms/vm-evacuation.ts';
import { VmMigrationService } from './vms/vm-migration.ts';
import { type VmDeps, VmService } from './vms/vm-service.ts';

/** SharedServices are the process-wide parts the per-request services are built from. */
export interface SharedServices {
  /** fork gives a fresh unit of work (Database.fork). */
  readonly fork: () => EntityManager;
  readonly auth: AuthSettings;
  readonly scrypt: ScryptParams;
  /** quotaDefaults are the limits each new user starts with. */
  readonly quotaDefaults: QuotaLimits;
  readonly hosts: HostDeps;
  readonly events: EventBus;
  readonly operations: OperationRunner;
  /** cancels cancels operations on whichever replica runs them. */
  readonly cancels: CancelRelay;
  readonly images: ImageDeps;
  readonly imageLists: ImageListDeps;
  readonly listPublisher: PublisherSettings;
  readonly vms: VmDeps;
  readonly consoles: ConsoleDeps;
  readonly exec: ExecDeps;
}

/** RequestServices are one request's services, sharing one unit of work. */
export interface RequestServices {
  readonly em: EntityManager;
  readonly auth: AuthService;
  readonly users: UserService;
  readonly audit: AuditService;
  readonly hosts: HostService;
  readonly permissions: PermissionService;
  readonly quotas: QuotaService;
  readonly usage: UsageService;
  readonly operations: OperationService;
  readonly replicas: ReplicaService;
  readonly images: ImageService;
  readonly imageLists: ImageListService;
  readonly listPublisher: ListPublisher;
  readonly vms: VmService;
  readonly snapshots: SnapshotService;
  readonly consoles: VmConsoleService;
  readonly migrations: VmMigrationService;
  readonly evacuations: VmEvacuation;
  readonly exec: ExecService;
  readonly events: EventBus;
}

/** requestServices builds the services of one request (or one subscription) on a fresh fork. */
export function requestServices(shared: SharedServices): RequestServices {
  const em = shared.fork();
  const permissions = new PermissionService(em);
  const images = new ImageService(em, permissions, shared.images);
  const vms = new VmService(em, permissions, images, shared.vms);
  const auth = new AuthService(em, shared.auth);
  const hosts = new HostService(em, shared.hosts);
  const audit = new AuditService(shared.fork);
  return {
    em,
    auth,
    users: new UserService(em, shared.scrypt, shared.quotaDefaults),
    audit,
    hosts,
    permissions,
    quotas: new QuotaService(em, shared.vms.quotas.rules.window),
    usage: new UsageService(em),
    operations: new OperationService(em, shared.operations, shared.cancels),
    replicas: new ReplicaService(em),
    images,
    imageLists: new ImageListService(em, shared.imageLists),
    listPublisher: new ListPublisher(em, shared.listPublisher),
    vms,
    snapshots: new SnapshotService(em, vms, shared.vms.quotas),
    consoles: new VmConsoleService(em, vms, auth, shared.consoles),
    migrations: new VmMigrationService(em, vms, shared.vms),
    evacuations: new VmEvacuation(em, hosts, {
      operations: shared.operations,
      concurrency: shared.vms.settings.evacuationConcurrency,
      migrations: () => requestServices(shared).migrations,
    }),
    exec: new ExecService(em, vms, audit, shared.exec),
    events: shared.events,
  };
}
