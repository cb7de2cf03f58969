import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HostId, VmId } from '../../entities/ids.ts';
import type { Vm } from '../../entities/vm.ts';
import { type DomainRef, type DomainState, UndefineFlags } from '../../libvirt/api/domains.ts';
import type { LibvirtConnection } from '../../libvirt/connection.ts';
import { ErrorCode, isLibvirtError, isNotFound } from '../../libvirt/errors.ts';
import { volumeXml } from '../../libvirt/xml/storage.ts';
import { isServiceError, ServiceError } from '../errors.ts';
import type { HostMonitor } from '../hosts/host-monitor.ts';
import type { HostPools } from '../hosts/host-pool.ts';
import { type CachedImage, deleteVolume } from '../images/image-cache.ts';
import { diskVolume, domainTypeOf, seedVolume, vmDomainXml } from './vm-domain.ts';

// A VM's disk (`vm-<id>.qcow2`) or seed (`vm-<id>-seed.iso`), as vm-domain.ts names them.
const VM_VOLUME = /^vm-([0-9a-f-]{36})(?:\.qcow2|-seed\.iso)$/;

/** hostFailure turns what a host said into a ServiceError that names what failed. */
export function hostFailure(err: unknown, what: string): ServiceError {
  if (isServiceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  // The domain is not in a state that allows it.
  if (isLibvirtError(err) && err.code === ErrorCode.OPERATION_INVALID)
    return new ServiceError('INVALID_STATE', `${what}: ${message}`, 'input.id');
  return new ServiceError('UNAVAILABLE', `${what}: ${message}`);
}

/**
 * VmHost does a VM's work on its host: the disk overlay, the seed volume, the domain
 * definition, and tearing all of it down. Every step is safe to repeat, so teardown can follow
 * a creation that failed at any point.
 */
export class VmHost {
  private readonly monitor: HostMonitor;
  private readonly pools: HostPools;
  private readonly network: string;

  constructor(monitor: HostMonitor, pools: HostPools, network: string) {
    this.monitor = monitor;
    this.pools = pools;
    this.network = network;
  }

  /** connection is the host's open connection; UNAVAILABLE when the host is not connected. */
  connection(hostId: HostId): LibvirtConnection {
    const session = this.monitor.session(hostId);
    if (!session) {
      const s = this.monitor.status(hostId);
      throw new ServiceError(
        'UNAVAILABLE',
        `the VM's host is ${s.state.toLowerCase()} (${s.reason}); try again when it is back`,
      );
    }
    return session.connection;
  }

  /** createDisk creates the VM's disk: a qcow2 overlay whose backing file is the cached image. */
  async createDisk(conn: LibvirtConnection, vm: Vm, base: CachedImage): Promise<void> {
    const pool = await this.pools.ensure(conn);
    await conn.storage.createVolume(
      pool,
      volumeXml({
        name: diskVolume(vm.id),
        capacityBytes: vm.diskBytes,
        format: 'qcow2',
        backing: { path: base.path, format: base.format },
      }),
    );
  }

  /** writeSeed uploads the cloud-init seed image as a raw volume. */
  async writeSeed(conn: LibvirtConnection, vm: Vm, iso: Buffer): Promise<void> {
    const pool = await this.pools.ensure(conn);
    const vol = await conn.storage.createVolume(
      pool,
      volumeXml({ name: seedVolume(vm.id), capacityBytes: BigInt(iso.length), format: 'raw' }),
    );
    await conn.storage.upload(vol, Readable.from([iso]));
  }

  /** define defines the VM's domain from its row (again, to change it: a running domain takes it at its next boot). */
  async define(conn: LibvirtConnection, vm: Vm): Promise<DomainRef> {
    const host = await vm.host?.loadOrFail();
    if (!host) throw new ServiceError('INVALID_STATE', `VM ${vm.id} has no host`);
    const kvm = this.monitor.status(host.id).facts?.kvm ?? host.facts?.kvm ?? false;
    return conn.domains.define(
      vmDomainXml(vm, {
        domainType: domainTypeOf(host.acceleration, kvm),
        diskPath: this.pools.volumePath(diskVolume(vm.id)),
        seedPath: vm.hasSeed ? this.pools.volumePath(seedVolume(vm.id)) : null,
        network: this.network,
        shared: host.sharedStorage !== null,
      }),
    );
  }

  /**
   * copyDisk copies one VM's disk overlay to another VM's on the same host, through `spool` on
   * the controller: the overlay holds only what the guest changed, and the copy keeps its
   * backing file, so both VMs share the cached image beneath.
   */
  async copyDisk(hostId: HostId, from: Vm, to: Vm, spool: string): Promise<void> {
    const session = await this.monitor.openSession(hostId);
    try {
      const conn = session.connection;
      const pool = await this.pools.ensure(conn);
      const src = await conn.storage.lookupVolume(pool, diskVolume(from.id));
      await conn.storage.downloadTo(src, createWriteStream(spool, { mode: 0o600 }));
      const { size } = await stat(spool, { bigint: true });
      const vol = await conn.storage.createVolume(
        pool,
        volumeXml({ name: diskVolume(to.id), capacityBytes: size, format: 'raw' }),
      );
      await conn.storage.upload(vol, createReadStream(spool));
      // The dir pool learns from the header that the copy is a qcow2 overlay.
      await conn.storage.refreshPool(pool);
    } finally {
      await rm(spool, { force: true });
      await session.close();
    }
  }

  /**
   * exportDisk flattens the VM's disk chain on the host into a standalone qcow2 (volume
   * create-from) and downloads it to `dest`, hashing on the way; the flattened volume is
   * deleted again whatever happens.
   */
  async exportDisk(
    hostId: HostId,
    vm: Vm,
    dest: string,
    onProgress: (bytes: bigint) => void,
  ): Promise<{ bytes: bigint; sha512: string }> {
    const session = await this.monitor.openSession(hostId);
    const conn = session.connection;
    const pool = await this.pools.ensure(conn);
    const flat = `export-${vm.id}.qcow2`;
    try {
      await deleteVolume(conn, pool, flat);
      const src = await conn.storage.lookupVolume(pool, diskVolume(vm.id));
      const vol = await conn.storage.createVolumeFrom(
        pool,
        volumeXml({ name: flat, capacityBytes: vm.diskBytes, format: 'qcow2' }),
        src,
      );
      const hash = createHash('sha512');
      let bytes = 0n;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += BigInt(chunk.length);
          hash.update(chunk);
          onProgress(bytes);
          cb(null, chunk);
        },
      });
      await pipeline(
        await conn.storage.download(vol),
        meter,
        createWriteStream(dest, { mode: 0o600 }),
      );
      return { bytes, sha512: hash.digest('hex') };
    } finally {
      await deleteVolume(conn, pool, flat).catch(() => undefined);
      await session.close();
    }
  }

  /** diskAllocation is what the VM's disk overlay takes on its host, or null when unknown now. */
  async diskAllocation(hostId: HostId, vmId: VmId): Promise<bigint | null> {
    const session = this.monitor.session(hostId);
    if (!session) return null;
    try {
      const conn = session.connection;
      const pool = await this.pools.ensure(conn);
      const vol = await conn.storage.lookupVolume(pool, diskVolume(vmId));
      return (await conn.storage.volumeInfo(vol)).allocation;
    } catch {
      return null;
    }
  }

  /**
   * teardown stops and undefines the domain (with its snapshot metadata) and deletes the disk
   * and seed, unless `keepVolumes` (their files are another host's too: shared storage). What
   * is already gone is skipped.
   */
  async teardown(hostId: HostId, vm: Vm, keepVolumes = false): Promise<void> {
    const conn = this.connection(hostId);
    try {
      const dom = await conn.domains.lookupByUuid(vm.domainUuid);
      if ((await conn.domains.state(dom)).state !== 'shutoff')
        await conn.domains.destroy(dom).catch((err: unknown) => {
          if (!isLibvirtError(err) || err.code !== ErrorCode.OPERATION_INVALID) throw err;
        });
      await conn.domains.undefine(
        dom,
        UndefineFlags.SNAPSHOTS_METADATA | UndefineFlags.MANAGED_SAVE | UndefineFlags.NVRAM,
      );
    } catch (err) {
      if (!isNotFound(err)) throw hostFailure(err, 'removing the domain failed');
    }
    if (!keepVolumes) await this.deleteVolumes(conn, vm);
  }

  /** removeVolumes deletes the VM's disk and seed on a host, leaving any domain alone. */
  async removeVolumes(hostId: HostId, vm: Vm): Promise<void> {
    await this.deleteVolumes(this.connection(hostId), vm);
  }

  /** copySeed copies the VM's cloud-init seed from one host's pool to another's (it is small). */
  async copySeed(from: LibvirtConnection, to: LibvirtConnection, vm: Vm): Promise<void> {
    const src = await from.storage.lookupVolume(await this.pools.ensure(from), seedVolume(vm.id));
    const chunks: Buffer[] = [];
    await from.storage.downloadTo(
      src,
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    await this.writeSeed(to, vm, Buffer.concat(chunks));
  }

  /**
   * checkShared makes sure the destination sees the VM's disk where the source has it: hosts
   * declared to share storage that do not would lose the disk in a migration.
   */
  async checkShared(dst: LibvirtConnection, vm: Vm, from: string, to: string): Promise<void> {
    const pool = await this.pools.ensure(dst);
    await dst.storage.refreshPool(pool);
    const seen = await dst.storage.lookupVolume(pool, diskVolume(vm.id)).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
    if (!seen)
      throw new ServiceError(
        'REFUSED',
        `${from} and ${to} are declared to share storage, but ${to} does not see this VM's disk: check the mount`,
        'input.host',
      );
  }

  /**
   * vmVolumeOwners lists the VMs that have a disk or seed volume in the host's Kumo pool, as
   * the pool knows it (no refresh: Kumo makes its volumes through libvirt).
   */
  async vmVolumeOwners(conn: LibvirtConnection): Promise<VmId[]> {
    const pool = await this.pools.ensure(conn);
    const ids = new Set<VmId>();
    for (const v of await conn.storage.listVolumes(pool)) {
      const m = VM_VOLUME.exec(v.name);
      if (m) ids.add(m[1] as VmId);
    }
    return [...ids];
  }

  private async deleteVolumes(conn: LibvirtConnection, vm: Vm): Promise<void> {
    const pool = await this.pools.ensure(conn);
    await deleteVolume(conn, pool, diskVolume(vm.id));
    await deleteVolume(conn, pool, seedVolume(vm.id));
  }
}

/**
 * domainStateOn is the state of the domain with this UUID on a host: null when the host has no
 * such domain, 'unknown' when it cannot say.
 */
export async function domainStateOn(
  conn: LibvirtConnection,
  uuid: string,
): Promise<DomainState | null | 'unknown'> {
  try {
    return (await conn.domains.state(await conn.domains.lookupByUuid(uuid))).state;
  } catch (err) {
    return isNotFound(err) ? null : 'unknown';
  }
}
