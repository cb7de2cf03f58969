import type { HostId, ImageId, UserId, VmId } from '../../entities/ids.ts';
import type { Vm, VmState } from '../../entities/vm.ts';
import { bigintOf, dateOf, dateOrNull, type Row } from '../views.ts';

/**
 * VmView is a VM as the API shows it: plain values, no unit of work behind it. Lists read
 * their rows straight into views, because hydrating an entity costs the ORM about 50 µs (a page
 * of 100 took longer to hydrate than everything else the request did); a VM changed through
 * the services is shown by viewing its entity.
 */
export class VmView {
  readonly id: VmId;
  readonly name: string;
  readonly description: string;
  readonly ownerId: UserId;
  readonly hostId: HostId | null;
  readonly imageId: ImageId | null;
  readonly state: VmState;
  readonly stateReason: string;
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryBytes: bigint;
  readonly maxMemoryBytes: bigint;
  readonly diskBytes: bigint;
  readonly mac: string;
  readonly ipAddress: string | null;
  readonly overuseLimit: string | null;
  readonly suspendAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;

  constructor(v: VmView) {
    this.id = v.id;
    this.name = v.name;
    this.description = v.description;
    this.ownerId = v.ownerId;
    this.hostId = v.hostId;
    this.imageId = v.imageId;
    this.state = v.state;
    this.stateReason = v.stateReason;
    this.vcpus = v.vcpus;
    this.maxVcpus = v.maxVcpus;
    this.memoryBytes = v.memoryBytes;
    this.maxMemoryBytes = v.maxMemoryBytes;
    this.diskBytes = v.diskBytes;
    this.mac = v.mac;
    this.ipAddress = v.ipAddress;
    this.overuseLimit = v.overuseLimit;
    this.suspendAt = v.suspendAt;
    this.createdAt = v.createdAt;
    this.updatedAt = v.updatedAt;
  }

  /** of views an entity (a VM the services just made or changed). */
  static of(vm: Vm): VmView {
    return new VmView({
      id: vm.id,
      name: vm.name,
      description: vm.description,
      ownerId: vm.owner.id as UserId,
      hostId: (vm.host?.id ?? null) as HostId | null,
      imageId: (vm.image?.id ?? null) as ImageId | null,
      state: vm.state,
      stateReason: vm.stateReason,
      vcpus: vm.vcpus,
      maxVcpus: vm.maxVcpus,
      memoryBytes: vm.memoryBytes,
      maxMemoryBytes: vm.maxMemoryBytes,
      diskBytes: vm.diskBytes,
      mac: vm.mac,
      ipAddress: vm.ipAddress ?? null,
      overuseLimit: vm.overuseLimit ?? null,
      suspendAt: vm.suspendAt ?? null,
      createdAt: vm.createdAt,
      updatedAt: vm.updatedAt,
    });
  }

  /** ofRow views a row read with the query builder (VIEW_COLUMNS; relations as their ids). */
  static ofRow(r: Row): VmView {
    return new VmView({
      id: r.id as VmId,
      name: r.name as string,
      description: r.description as string,
      ownerId: r.owner as UserId,
      hostId: (r.host ?? null) as HostId | null,
      imageId: (r.image ?? null) as ImageId | null,
      state: r.state as VmState,
      stateReason: r.stateReason as string,
      vcpus: Number(r.vcpus),
      maxVcpus: Number(r.maxVcpus),
      memoryBytes: bigintOf(r.memoryBytes),
      maxMemoryBytes: bigintOf(r.maxMemoryBytes),
      diskBytes: bigintOf(r.diskBytes),
      mac: r.mac as string,
      ipAddress: (r.ipAddress ?? null) as string | null,
      overuseLimit: (r.overuseLimit ?? null) as string | null,
      suspendAt: dateOrNull(r.suspendAt),
      createdAt: dateOf(r.createdAt),
      updatedAt: dateOf(r.updatedAt),
    });
  }
}

/** VIEW_COLUMNS are the properties a view is read from. */
export const VM_VIEW_COLUMNS = [
  'id',
  'name',
  'description',
  'owner',
  'host',
  'image',
  'state',
  'stateReason',
  'vcpus',
  'maxVcpus',
  'memoryBytes',
  'maxMemoryBytes',
  'diskBytes',
  'mac',
  'ipAddress',
  'overuseLimit',
  'suspendAt',
  'createdAt',
  'updatedAt',
] as const;
