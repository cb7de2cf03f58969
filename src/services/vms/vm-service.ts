import { join } from 'node:path';
import type { FilterQuery } from '@mikro-orm/core';
import type DataLoader from 'dataloader';
import type { EntityManager } from '../../db/database.ts';
import { Host } from '../../entities/host.ts';
import { type HostId, type ImageId, newId, type UserId, type VmId } from '../../entities/ids.ts';
import type { Image } from '../../entities/image.ts';
import type { Operation } from '../../entities/operation.ts';
import { Permission, type Role } from '../../entities/permission.ts';
import { User } from '../../entities/user.ts';
import { Vm, type VmState } from '../../entities/vm.ts';
import { type DomainRef, ModificationFlags } from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { ErrorCode, isLibvirtError, isNotFound } from '../../libvirt/errors.ts';
import type { Actor } from '../actor.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import type { HostPools } from '../hosts/host-pool.ts';
import { type ImageCache, volumeOfImage } from '../images/image-cache.ts';
import type { ImageService } from '../images/image-service.ts';
import type { Locks } from '../locks.ts';
import type { UsageCollector } from '../metering/usage-collector.ts';
import { grantedRows, namedRows } from '../named-page.ts';
import type { OperationContext, OperationRunner } from '../operations/operation-runner.ts';
import { transferDetails } from '../operations/transfer-progress.ts';
import {
  type Access,
  type PermissionService,
  renameGrants,
  type Share,
} from '../permissions/permission-service.ts';
import type { QuotaGuard } from '../quotas/quota-guard.ts';
import { checkDescription, checkLabel } from '../text.ts';
import { viewLoader } from '../views.ts';
import { HostRooms } from './host-rooms.ts';
import type { HostStarts } from './host-starts.ts';
import { type PlacementPolicy, place } from './scheduler.ts';
import { randomMac } from './vm-domain.ts';
import { hostFailure, VmHost } from './vm-host.ts';
import { forgetVm, ownerOf } from './vm-rows.ts';
import { checkSeed, type SeedInput, seedImage } from './vm-seed.ts';
import { type VmStateRecorder, vmStateOf } from './vm-state.ts';
import { VM_VIEW_COLUMNS, VmView } from './vm-view.ts';

/** VmSettings are the configuration's `vms` section, as the services use it. */
export interface VmSettings {
  readonly network: string;
  readonly placement: PlacementPolicy;
  readonly shutdownTimeoutSeconds: number;
  readonly maxVcpus: number;
  readonly maxMemoryBytes: bigint;
  readonly maxDiskBytes: bigint;
  /** ownersMayMigrate lets VM owners migrate their VMs, not only admins. */
  readonly ownersMayMigrate: boolean;
  /** evacuationConcurrency is how many VMs move off a host at a time. */
  readonly evacuationConcurrency: number;
}

/** VmDeps are the process-wide parts VMs need. */
export interface VmDeps {
  readonly monitor: HostMonitor;
  readonly pools: HostPools;
  readonly cache: ImageCache;
  readonly operations: OperationRunner;
  readonly locks: Locks<VmId>;
  /** placement serializes choosing a host with recording the VM there. */
  readonly placement: Locks<'placement'>;
  /** starts bounds the domains each host starts at once. */
  readonly starts: HostStarts;
  /** quotas admits what VMs reserve against their owners' limits. */
  readonly quotas: QuotaGuard;
  readonly states: VmStateRecorder;
  /** metering settles what a VM used on a host it leaves. */
  readonly metering: UsageCollector;
  readonly settings: VmSettings;
  /** spoolDir holds disk copies passing through the controller (the image store's directory). */
  readonly spoolDir: string;
}

/** VmCreateInput is what vmCreate asks for. */
export interface VmCreateInput extends SeedInput {
  readonly image: ImageId;
  readonly name: string;
  readonly description?: string;
  readonly vcpus: number;
  readonly memoryBytes: bigint;
  /** diskBytes defaults to the image's virtual size. */
  readonly diskBytes?: bigint;
  /** maxVcpus and maxMemoryBytes are the ceilings for live resizing; default: the size asked. */
  readonly maxVcpus?: number;
  readonly maxMemoryBytes?: bigint;
  /** host pins the VM to a host (admins only). */
  readonly host?: HostId;
  /** start boots the VM once created. @default true */
  readonly start?: boolean;
}

/** VmFilter narrows vms(query). */
export interface VmFilter {
  readonly text?: string;
  readonly owner?: UserId;
  readonly state?: VmState;
  readonly host?: HostId;
}

/** ResizeResult says whether a resize took effect at once or waits for the next boot. */
export interface ResizeResult {
  readonly vm: Vm;
  readonly appliedAt: 'LIVE' | 'NEXT_BOOT';
}

type Lifecycle = 'start' | 'powerOff' | 'reboot' | 'suspend' | 'resume';

// What a new VM's row is made of, beyond what recordNew sets itself.
interface NewVm {
  readonly name: string;
  readonly description: string;
  readonly host: Host | Vm['host'];
  readonly image: Image | Vm['image'];
  readonly baseVolume: string;
  readonly stateReason: string;
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryBytes: bigint;
  readonly maxMemoryBytes: bigint;
  readonly diskBytes: bigint;
  readonly hasSeed: boolean;
}

/** DomainWork is what withDomain gives its work: the VM, its domain and its state now. */
export interface DomainWork {
  readonly vm: Vm;
  readonly conn: LibvirtConnection;
  readonly dom: DomainRef;
  readonly state: VmState;
  /** observe reads the domain's state, records it with the reason, and returns the VM reloaded. */
  observe(reason: string): Promise<Vm>;
}

const MiB = 1024n * 1024n;

/**
 * VmService runs VMs for their users: creation (placement, a copy-on-write disk on the cached
 * image, an optional cloud-init seed, the domain), the life cycle, resizing and removal, each
 * authorized by the caller's role and serialized per VM. The state shown is libvirt's, read
 * after every action; events and the reconciler keep it current between actions.
 */
export class VmService {
  private readonly em: EntityManager;
  private readonly permissions: PermissionService;
  private readonly images: ImageService;
  private readonly deps: VmDeps;
  private readonly host: VmHost;
  private readonly rooms: HostRooms;
  private readonly views: DataLoader<VmId, VmView | null>;

  constructor(
    em: EntityManager,
    permissions: PermissionService,
    images: ImageService,
    deps: VmDeps,
  ) {
    this.em = em;
    this.permissions = permissions;
    this.images = images;
    this.deps = deps;
    this.host = new VmHost(deps.monitor, deps.pools, deps.settings.network);
    this.rooms = new HostRooms(em, deps.monitor, deps.settings.placement);
    this.views = viewLoader(em, Vm, VM_VIEW_COLUMNS, VmView.ofRow);
  }

  /** get returns a VM the actor may act on as `access` asks. */
  async get(actor: Actor, id: VmId, access: Access = 'view'): Promise<Vm> {
    const vm = await this.em.findOne(Vm, { id });
    if (!vm) throw new ServiceError('NOT_FOUND', `no VM ${id}`, 'input.id');
    await this.permissions.require(actor, { type: 'VM', id }, access);
    return vm;
  }

  /**
   * list returns the VMs the actor may see, by name, filtered in SQL and read as views. A user's
   * are read through their grants, whose roles are kept for the request.
   */
  async list(
    actor: Actor,
    q: { first: number; after?: { name: string; id: VmId }; filter?: VmFilter },
  ): Promise<{ vms: VmView[]; hasNextPage: boolean }> {
    const and: FilterQuery<Vm>[] = [];
    const f = q.filter ?? {};
    if (f.owner) and.push({ owner: f.owner });
    if (f.state) and.push({ state: f.state });
    if (f.host) and.push({ host: f.host });
    const page = {
      first: q.first,
      ...(q.after ? { after: q.after } : {}),
      ...(f.text ? { text: f.text } : {}),
    };
    if (actor.isAdmin) {
      const { rows, hasNextPage } = await namedRows(this.em, Vm, VM_VIEW_COLUMNS, and, page);
      return { vms: rows.map(VmView.ofRow), hasNextPage };
    }
    const grantee = { user: actor.userId, type: 'VM' } as const;
    const { rows, hasNextPage } = await grantedRows(
      this.em,
      Vm,
      VM_VIEW_COLUMNS,
      grantee,
      and,
      page,
    );
    for (const r of rows) this.permissions.prime(actor, { type: 'VM', id: r.id as VmId }, r.role);
    return { vms: rows.map(VmView.ofRow), hasNextPage };
  }

  /** view reads a VM as the API shows it, or null (who may see it is the caller's to check). */
  view(id: VmId): Promise<VmView | null> {
    return this.views.load(id);
  }

  /**
   * create places the VM on a host and records it (CREATING) at once, so two requests for the
   * last room on a host cannot both get it; the disk, seed and domain are made in the background
   * as an operation. If any step fails, everything made so far is removed again, the VM too.
   */
  async create(actor: Actor, input: VmCreateInput): Promise<{ vm: Vm; operation: Operation }> {
    const s = this.deps.settings;
    const name = checkVmName(input.name);
    const description = checkDescription(input.description ?? '');
    const vcpus = checkCount(input.vcpus, 1, s.maxVcpus, 'vcpus');
    const maxVcpus = checkCount(input.maxVcpus ?? vcpus, vcpus, s.maxVcpus, 'maxVcpus');
    const memoryBytes = checkMemory(input.memoryBytes, 32n * MiB, s.maxMemoryBytes, 'memoryBytes');
    const maxMemoryBytes = checkMemory(
      input.maxMemoryBytes ?? memoryBytes,
      memoryBytes,
      s.maxMemoryBytes,
      'maxMemoryBytes',
    );
    const seed = checkSeed(input, name);
    if (input.host && !actor.isAdmin)
      throw new ServiceError('FORBIDDEN', 'only admins may choose the host of a VM');
    const image = await this.images.get(actor, input.image, 'use');
    if (image.state !== 'AVAILABLE' || image.virtualSizeBytes == null)
      throw new ServiceError(
        'INVALID_STATE',
        `image ${image.id} is ${image.state.toLowerCase()}, not available`,
        'input.image',
      );
    const diskBytes = input.diskBytes ?? image.virtualSizeBytes;
    if (diskBytes < image.virtualSizeBytes || diskBytes > s.maxDiskBytes)
      throw new ServiceError(
        'INVALID',
        `the disk must be between the image's ${image.virtualSizeBytes} bytes and ${s.maxDiskBytes} bytes`,
        'input.diskBytes',
      );

    const start = input.start ?? true;
    const vm = await this.deps.placement.run('placement', 'placing a VM', async () => {
      const hostId = await this.rooms.choose(
        { vcpus: maxVcpus, memoryBytes: maxMemoryBytes },
        { pinned: input.host ?? null },
      );
      return this.recordNew(actor.userId, start, {
        name,
        description,
        host: this.em.getReference(Host, hostId),
        image,
        baseVolume: volumeOfImage(image.id),
        stateReason: 'being created',
        vcpus,
        maxVcpus,
        memoryBytes,
        maxMemoryBytes,
        diskBytes,
        hasSeed: seed !== null,
      });
    });

    const operation = await this.deps.operations.start({
      kind: 'vmCreate',
      actorId: actor.userId,
      targetType: 'VM',
      targetId: vm.id,
      work: (ctx) =>
        this.deps.locks.run(vm.id, 'vmCreate', () =>
          this.provision(vm.id, image, seed, start, ctx),
        ),
    });
    return { vm, operation };
  }

  /**
   * recordNew records a VM as CREATING, owned by `owner`, once the owner's limits admit it (and
   * a running VM more when it is to start): the row is the reservation.
   */
  private recordNew(owner: UserId, start: boolean, fields: NewVm): Promise<Vm> {
    const adds = {
      vms: 1n,
      runningVms: start ? 1n : 0n,
      vcpus: BigInt(fields.vcpus),
      memoryBytes: fields.memoryBytes,
      diskBytes: fields.diskBytes,
    };
    return this.deps.quotas.reserve(owner, adds, async () => {
      const vm = this.em.create(Vm, {
        ...fields,
        owner: this.em.getReference(User, owner),
        state: 'CREATING',
        mac: await this.freeMac(),
        domainUuid: newId<VmId>(),
      });
      this.permissions.grantOwner(owner, { type: 'VM', id: vm.id, name: vm.name });
      await this.em.flush();
      return vm;
    });
  }

  /**
   * withDomain runs work on a VM's domain under the VM's lock, with the domain's state now and
   * a way to record the state the work left it in. The caller has authorized the actor.
   */
  withDomain<T>(id: VmId, what: string, work: (d: DomainWork) => Promise<T>): Promise<T> {
    return this.deps.locks.run(id, what, async () => {
      const vm = await this.reload(id);
      const { conn, dom } = await this.domainOf(vm);
      const state = vmStateOf((await conn.domains.state(dom)).state);
      return work({
        vm,
        conn,
        dom,
        state,
        observe: (reason) => this.observe(vm, conn, dom, reason),
      });
    });
  }

  /** act runs one life-cycle action after checking the domain's state allows it. */
  async act(actor: Actor, id: VmId, action: Lifecycle): Promise<Vm> {
    await this.get(actor, id, 'use');
    return this.withDomain(id, `vm ${action}`, async ({ vm, conn, dom, state, observe }) => {
      const allowed: Record<Lifecycle, readonly VmState[]> = {
        start: ['STOPPED', 'CRASHED'],
        powerOff: ['RUNNING', 'PAUSED', 'CRASHED'],
        reboot: ['RUNNING'],
        suspend: ['RUNNING'],
        resume: ['PAUSED'],
      };
      if (!allowed[action].includes(state))
        throw new ServiceError(
          'INVALID_STATE',
          `cannot ${action} a VM that is ${state.toLowerCase()} (it must be ${allowed[action].map((s) => s.toLowerCase()).join(' or ')})`,
          'input.id',
        );
      if (action === 'resume') await this.deps.quotas.admitResume(ownerOf(vm));
      // A start takes a running slot of the owner's, until the state it leaves is recorded.
      const adds = action === 'start' ? { runningVms: 1n } : {};
      return this.deps.quotas.reserve(ownerOf(vm), adds, async () => {
        try {
          if (action === 'start') {
            // Defined afresh, so a VM boots with what its host's settings are now.
            await this.deps.starts.run((vm.host as { id: HostId }).id, async () => {
              await this.host.define(conn, vm);
              await conn.domains.start(dom);
            });
          }
          if (action === 'powerOff') await conn.domains.destroy(dom);
          if (action === 'reboot') await conn.domains.reboot(dom);
          if (action === 'suspend') await conn.domains.suspend(dom);
          if (action === 'resume') await conn.domains.resume(dom);
        } catch (err) {
          throw hostFailure(err, `${action} failed`);
        }
        return observe(`${action} by a user`);
      });
    });
  }

  /**
   * shutdown asks the guest to power off (ACPI) and waits for it in the background; after
   * `timeoutSeconds` the VM is forced off, and the operation says which happened.
   */
  async shutdown(
    actor: Actor,
    id: VmId,
    timeoutSeconds: number = this.deps.settings.shutdownTimeoutSeconds,
  ): Promise<{ vm: Vm; operation: Operation }> {
    const vm = await this.get(actor, id, 'use');
    if (!(timeoutSeconds >= 1 && timeoutSeconds <= 3600))
      throw new ServiceError('INVALID', 'the timeout is 1 to 3600 seconds', 'input.timeoutSeconds');
    const { conn, dom } = await this.domainOf(vm);
    const state = vmStateOf((await conn.domains.state(dom)).state);
    if (state !== 'RUNNING')
      throw new ServiceError(
        'INVALID_STATE',
        `cannot shut down a VM that is ${state.toLowerCase()}`,
        'input.id',
      );
    const operation = await this.deps.operations.start({
      kind: 'vmShutdown',
      actorId: actor.userId,
      targetType: 'VM',
      targetId: id,
      work: (ctx) =>
        this.deps.locks.run(id, 'vmShutdown', () => this.shutDown(id, timeoutSeconds, ctx)),
    });
    return { vm, operation };
  }

  /**
   * resize changes vCPUs and memory. Within the ceilings set at creation a running VM changes
   * at once (and keeps it); beyond them, or when libvirt cannot do it live, the change is
   * written to the definition and takes effect at the next boot.
   */
  async resize(
    actor: Actor,
    id: VmId,
    changes: { vcpus?: number; memoryBytes?: bigint },
  ): Promise<ResizeResult> {
    await this.get(actor, id, 'manage');
    const s = this.deps.settings;
    return this.deps.locks.run(id, 'vmResize', async () => {
      const vm = await this.reload(id);
      const vcpus = checkCount(changes.vcpus ?? vm.vcpus, 1, s.maxVcpus, 'vcpus');
      const memoryBytes = checkMemory(
        changes.memoryBytes ?? vm.memoryBytes,
        32n * MiB,
        s.maxMemoryBytes,
        'memoryBytes',
      );
      const maxVcpus = Math.max(vm.maxVcpus, vcpus);
      // biome-ignore lint/complexity/useMathMinMax: Math.max does not take bigints
      const maxMemoryBytes = memoryBytes > vm.maxMemoryBytes ? memoryBytes : vm.maxMemoryBytes;
      const adds = { vcpus: BigInt(vcpus - vm.vcpus), memoryBytes: memoryBytes - vm.memoryBytes };
      const appliedAt = await this.deps.placement.run('placement', 'resizing a VM', () =>
        this.deps.quotas.reserve(ownerOf(vm), adds, async () => {
          const growth = {
            vcpus: maxVcpus - vm.maxVcpus,
            memoryBytes: maxMemoryBytes - vm.maxMemoryBytes,
          };
          if (growth.vcpus > 0 || growth.memoryBytes > 0n) {
            const room = (await this.rooms.capacities(vm.host?.id ?? null)).find(
              (h) => h.hostId === vm.host?.id,
            );
            if (!room || place([room], growth, 'pack').length === 0)
              throw new ServiceError(
                'UNAVAILABLE',
                'the VM host has no room for that size',
                'input.vcpus',
              );
          }
          const { conn, dom } = await this.domainOf(vm);
          const now = vmStateOf((await conn.domains.state(dom)).state);
          const running = now === 'RUNNING' || now === 'PAUSED';
          const live = running && maxVcpus === vm.maxVcpus && maxMemoryBytes === vm.maxMemoryBytes;
          let applied: ResizeResult['appliedAt'] = live ? 'LIVE' : 'NEXT_BOOT';
          try {
            if (maxVcpus !== vm.maxVcpus || maxMemoryBytes !== vm.maxMemoryBytes) {
              // New ceilings need a new definition; a running domain keeps its old one until it boots.
              Object.assign(vm, { vcpus, maxVcpus, memoryBytes, maxMemoryBytes });
              await this.host.define(conn, vm);
            } else {
              const flags = live
                ? ModificationFlags.LIVE | ModificationFlags.CONFIG
                : ModificationFlags.CONFIG;
              try {
                if (vcpus !== vm.vcpus) await conn.domains.setVcpus(dom, vcpus, flags);
                if (memoryBytes !== vm.memoryBytes)
                  await conn.domains.setMemory(dom, Number(memoryBytes / 1024n), flags);
              } catch (err) {
                if (!live) throw err;
                // The guest would not take it live: write it for the next boot instead.
                applied = 'NEXT_BOOT';
                if (vcpus !== vm.vcpus)
                  await conn.domains.setVcpus(dom, vcpus, ModificationFlags.CONFIG);
                if (memoryBytes !== vm.memoryBytes)
                  await conn.domains.setMemory(
                    dom,
                    Number(memoryBytes / 1024n),
                    ModificationFlags.CONFIG,
                  );
              }
              Object.assign(vm, { vcpus, memoryBytes });
            }
          } catch (err) {
            this.em.clear();
            throw hostFailure(err, 'resize failed');
          }
          await this.em.flush();
          return applied;
        }),
      );
      return { vm: await this.reload(id), appliedAt };
    });
  }

  /**
   * clone makes a copy-on-write copy of a VM on its host, with a new UUID, name and MAC: the
   * source's disk overlay is copied (the cached image beneath stays shared). A running source
   * is refused unless `pauseSource`, and then it is paused while its disk is copied.
   */
  async clone(
    actor: Actor,
    id: VmId,
    input: { name: string; pauseSource?: boolean; start?: boolean },
  ): Promise<{ vm: Vm; operation: Operation; sourcePaused: boolean }> {
    const source = await this.get(actor, id, 'use');
    const name = checkVmName(input.name);
    const { conn, dom } = await this.domainOf(source);
    const running = vmStateOf((await conn.domains.state(dom)).state) === 'RUNNING';
    if (running && !input.pauseSource)
      throw new ServiceError(
        'INVALID_STATE',
        'the VM is running: shut it off first, or let it be paused while its disk is copied (pauseSource)',
        'input.id',
      );
    const hostId = (source.host as { id: HostId }).id;
    const vm = await this.deps.placement.run('placement', 'placing a clone', async () => {
      const room = (await this.rooms.capacities(hostId))[0];
      const size = { vcpus: source.maxVcpus, memoryBytes: source.maxMemoryBytes };
      if (!room || place([room], size, 'pack').length === 0)
        throw new ServiceError('UNAVAILABLE', "the VM's host has no room for a clone", 'input.id');
      return this.recordNew(actor.userId, input.start ?? false, {
        name,
        description: source.description,
        host: source.host,
        image: source.image ?? null,
        baseVolume: source.baseVolume,
        stateReason: `being cloned from ${source.name}`,
        vcpus: source.vcpus,
        maxVcpus: source.maxVcpus,
        memoryBytes: source.memoryBytes,
        maxMemoryBytes: source.maxMemoryBytes,
        diskBytes: source.diskBytes,
        hasSeed: false,
      });
    });
    const operation = await this.deps.operations.start({
      kind: 'vmClone',
      actorId: actor.userId,
      targetType: 'VM',
      targetId: vm.id,
      work: (ctx) =>
        this.deps.locks.run(vm.id, 'vmClone', () =>
          this.withDomain(id, 'vmClone', async (src) => {
            const paused = src.state === 'RUNNING';
            if (paused && !input.pauseSource)
              throw new ServiceError('INVALID_STATE', 'the source VM was started meanwhile');
            try {
              if (paused) await src.conn.domains.suspend(src.dom);
              ctx.progress(0.1, 'copying the disk');
              await this.host.copyDisk(
                hostId,
                src.vm,
                vm,
                join(this.deps.spoolDir, `clone-${vm.id}.part`),
              );
            } catch (err) {
              await this.undo(hostId, vm);
              throw hostFailure(err, 'cloning failed');
            } finally {
              if (paused) await src.conn.domains.resume(src.dom).catch(() => undefined);
            }
            await this.finish(vm.id, input.start ?? false, ctx, 'cloned');
          }),
        ),
    });
    return { vm, operation, sourcePaused: running };
  }

  /**
   * saveAsImage makes a new image, owned by the caller, of the VM's disk: flattened on the host,
   * downloaded into the image store and checksummed. A running VM is refused, or shut down first
   * (ACPI, forced off after the configured timeout) when the caller asks.
   */
  async saveAsImage(
    actor: Actor,
    id: VmId,
    input: { name: string; description?: string; shutdown?: boolean },
  ): Promise<{ image: Image; operation: Operation }> {
    const vm = await this.get(actor, id, 'manage');
    const { conn, dom } = await this.domainOf(vm);
    const state = vmStateOf((await conn.domains.state(dom)).state);
    if (state !== 'STOPPED' && !input.shutdown)
      throw new ServiceError(
        'INVALID_STATE',
        `the VM is ${state.toLowerCase()}: shut it off first, or ask for it to be shut down (shutdown)`,
        'input.id',
      );
    const hostId = (vm.host as { id: HostId }).id;
    return this.images.register(
      actor,
      {
        name: input.name,
        ...(input.description !== undefined ? { description: input.description } : {}),
      },
      {
        kind: 'vmSaveAsImage',
        sourceUrl: null,
        arrive: (dest, ctx) =>
          this.deps.locks.run(id, 'vmSaveAsImage', async () => {
            const now = await this.reload(id);
            const d = await this.domainOf(now);
            if ((await d.conn.domains.state(d.dom)).state !== 'shutoff')
              await this.shutDown(id, this.deps.settings.shutdownTimeoutSeconds, ctx);
            ctx.progress(0, 'flattening and downloading the disk');
            return this.host.exportDisk(hostId, now, dest, (bytes) =>
              ctx.progress(
                Number(bytes) / Number(now.diskBytes),
                'downloading the disk',
                transferDetails(bytes, now.diskBytes),
              ),
            );
          }),
      },
    );
  }

  /** update renames or re-describes a VM. */
  async update(
    actor: Actor,
    id: VmId,
    changes: { name?: string; description?: string },
  ): Promise<Vm> {
    const vm = await this.get(actor, id, 'manage');
    if (changes.name !== undefined) vm.name = checkVmName(changes.name);
    if (changes.description !== undefined) vm.description = checkDescription(changes.description);
    // The transaction's unit of work writes the changes above with the grants' new name.
    await this.em.transactional(async (tx) => {
      if (changes.name !== undefined) await renameGrants(tx, { type: 'VM', id, name: vm.name });
    });
    return vm;
  }

  /**
   * remove destroys the domain, undefines it with its snapshot metadata, deletes its disk and
   * seed, its roles and its row. Refused while its host cannot be reached, so nothing is left
   * behind there.
   */
  async remove(actor: Actor, id: VmId): Promise<void> {
    await this.get(actor, id, 'manage');
    await this.deps.locks.run(id, 'vmRemove', async () => {
      const vm = await this.reload(id);
      if (vm.host) await this.host.teardown(vm.host.id, vm);
      await this.forget(vm);
    });
  }

  async share(actor: Actor, id: VmId, userId: UserId, role: Role): Promise<Permission> {
    const { name } = await this.get(actor, id, 'manage');
    return this.permissions.share(actor, { type: 'VM', id, name }, userId, role);
  }

  unshare(actor: Actor, id: VmId, userId: UserId): Promise<void> {
    return this.permissions.unshare(actor, { type: 'VM', id }, userId);
  }

  shares(actor: Actor, id: VmId): Promise<Share[]> {
    return this.permissions.shares(actor, { type: 'VM', id });
  }

  /**
   * visible says, from the database now (no cache), whether the actor may see the VM: for
   * subscriptions, which must stop delivering the moment a share is taken away.
   */
  async visible(actor: Actor, id: VmId): Promise<boolean> {
    if (actor.isAdmin) return true;
    const n = await this.em
      .fork()
      .count(Permission, { user: actor.userId, resourceType: 'VM', resourceId: id });
    return n > 0;
  }

  /** diskUsed is what the VM's disk takes on its host now, or null when the host cannot say. */
  diskUsed(vm: VmView): Promise<bigint | null> {
    return vm.hostId ? this.host.diskAllocation(vm.hostId, vm.id) : Promise.resolve(null);
  }

  /** roleOf is the actor's role on the VM (admins without one: null). */
  roleOf(actor: Actor, id: VmId): Promise<Role | null> {
    return this.permissions.roleOf(actor, { type: 'VM', id });
  }

  private async provision(
    id: VmId,
    image: Image,
    seed: ReturnType<typeof checkSeed>,
    start: boolean,
    ctx: OperationContext,
  ): Promise<void> {
    const em = this.em.fork();
    const vm = await em.findOneOrFail(Vm, { id });
    const hostId = (vm.host as { id: HostId }).id;
    try {
      ctx.progress(0, 'copying the image to the host');
      if (image.sizeBytes == null || image.sha512 == null)
        throw new ServiceError('INVALID_STATE', `image ${image.id} is not complete`);
      const base = await this.deps.cache.ensure(
        hostId,
        {
          id: image.id,
          format: image.format,
          sizeBytes: image.sizeBytes,
          sha512: image.sha512,
        },
        (f) => ctx.progress(f * 0.8, 'copying the image to the host'),
      );
      ctx.signal.throwIfAborted();
      ctx.progress(0.8, 'creating the disk');
      const conn = this.host.connection(hostId);
      await this.host.createDisk(conn, vm, base);
      if (seed) {
        ctx.progress(0.85, 'writing the cloud-init seed');
        await this.host.writeSeed(conn, vm, seedImage(vm.id, seed));
      }
      ctx.signal.throwIfAborted();
    } catch (err) {
      await this.undo(hostId, vm);
      throw isServiceError(err) ? err : hostFailure(err, 'creating the VM failed');
    }
    await this.finish(id, start, ctx, 'created');
  }

  // Defines (and starts) a VM whose disk is ready; on failure removes everything of it.
  private async finish(id: VmId, start: boolean, ctx: OperationContext, what: string) {
    const em = this.em.fork();
    const vm = await em.findOneOrFail(Vm, { id });
    const hostId = (vm.host as { id: HostId }).id;
    try {
      ctx.progress(0.9, start ? 'starting' : 'defining the domain');
      const conn = this.host.connection(hostId);
      const dom = await this.deps.starts.run(
        hostId,
        async () => {
          const defined = await this.host.define(conn, vm);
          if (start) await conn.domains.start(defined);
          return defined;
        },
        ctx.signal,
      );
      const state = vmStateOf((await conn.domains.state(dom)).state);
      await this.deps.states.record(id, state, start ? `${what} and started` : what);
    } catch (err) {
      await this.undo(hostId, vm);
      throw hostFailure(err, `${what}: the domain failed`);
    }
  }

  // Removes whatever of a VM being made exists (domain, volumes, row, roles), after a failure.
  private async undo(hostId: HostId, vm: Vm): Promise<void> {
    await this.host.teardown(hostId, vm).catch(() => undefined);
    await this.forget(vm);
  }

  private async shutDown(id: VmId, timeoutSeconds: number, ctx: OperationContext): Promise<void> {
    const vm = await this.reload(id);
    const { conn, dom } = await this.domainOf(vm);
    await conn.domains.shutdown(dom).catch((err: unknown) => {
      throw hostFailure(err, 'shutdown failed');
    });
    ctx.progress(0, 'waiting for the guest to power off');
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline && !ctx.signal.aborted) {
      if ((await conn.domains.state(dom)).state === 'shutoff') {
        await this.observe(vm, conn, dom, 'shut down by its guest');
        return;
      }
      ctx.progress(1 - (deadline - Date.now()) / (timeoutSeconds * 1000));
      await new Promise((r) => setTimeout(r, 250));
    }
    if (ctx.signal.aborted) return;
    ctx.progress(1, 'forcing off');
    await conn.domains.destroy(dom).catch((err: unknown) => {
      if (!isLibvirtError(err) || err.code !== ErrorCode.OPERATION_INVALID)
        throw hostFailure(err, 'forced off failed');
    });
    await this.observe(
      vm,
      conn,
      dom,
      `forced off: the guest did not shut down within ${timeoutSeconds} s`,
    );
  }

  private async freeMac(): Promise<string> {
    for (;;) {
      const mac = randomMac();
      if ((await this.em.count(Vm, { mac })) === 0) return mac;
    }
  }

  private async reload(id: VmId): Promise<Vm> {
    const vm = await this.em.findOne(Vm, { id }, { refresh: true });
    if (!vm) throw new ServiceError('NOT_FOUND', `no VM ${id}`, 'input.id');
    return vm;
  }

  /**
   * locate finds a VM's domain where it runs now, reading the VM afresh (work in the background
   * follows a VM that moved to another host, or a host that reconnected).
   */
  async locate(id: VmId): Promise<{ conn: LibvirtConnection; dom: DomainRef }> {
    const vm = await this.em.findOne(Vm, { id }, { refresh: true });
    if (!vm) throw new ServiceError('NOT_FOUND', `VM ${id} is gone`);
    // A VM being migrated still runs its guest: the source answers until the switch.
    if (vm.state !== 'RUNNING' && vm.state !== 'MIGRATING')
      throw new ServiceError('INVALID_STATE', `the VM is ${vm.state.toLowerCase()}, not running`);
    return this.domainOf(vm);
  }

  /** domainOf finds the VM's domain on its host (INVALID_STATE when it is gone or not made yet). */
  async domainOf(vm: Vm): Promise<{ conn: LibvirtConnection; dom: DomainRef }> {
    if (!vm.host) throw new ServiceError('INVALID_STATE', 'the VM has no host', 'input.id');
    if (vm.state === 'CREATING')
      throw new ServiceError('INVALID_STATE', 'the VM is still being created', 'input.id');
    const conn = this.host.connection(vm.host.id);
    try {
      return { conn, dom: await conn.domains.lookupByUuid(vm.domainUuid) };
    } catch (err) {
      if (isNotFound(err)) {
        await this.deps.states.record(vm.id, 'ERROR', 'its domain is gone from the host');
        throw new ServiceError(
          'INVALID_STATE',
          'the VM domain is gone from its host; remove the VM',
          'input.id',
        );
      }
      throw hostFailure(err, 'the host did not answer');
    }
  }

  // Reads the domain's state after an action and records it; returns the VM as it is now.
  private async observe(
    vm: Vm,
    conn: LibvirtConnection,
    dom: DomainRef,
    reason: string,
  ): Promise<Vm> {
    const state = vmStateOf((await conn.domains.state(dom)).state);
    await this.deps.states.record(vm.id, state, reason, true);
    return this.reload(vm.id);
  }

  // Deletes the VM's row and roles (forgetVm). A base image copy that only it used, of an image
  // removed by force, goes too.
  private async forget(vm: Vm): Promise<void> {
    await forgetVm(this.em.fork(), vm.id);
    if (!vm.image && vm.host) await this.deps.cache.pruneVolume(vm.host.id, vm.baseVolume);
  }
}

function checkCount(n: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ServiceError(
      'INVALID',
      `${field} must be between ${min} and ${max}`,
      `input.${field}`,
    );
  return n;
}

function checkMemory(n: bigint, min: bigint, max: bigint, field: string): bigint {
  if (n < min || n > max || n % MiB !== 0n)
    throw new ServiceError(
      'INVALID',
      `${field} must be whole MiB between ${min} and ${max} bytes`,
      `input.${field}`,
    );
  return n;
}

function checkVmName(name: string): string {
  return checkLabel(name, 'a VM name', 64);
}
