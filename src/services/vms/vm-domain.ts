import { randomBytes } from 'node:crypto';
import type { Acceleration } from '../../entities/host.ts';
import type { VmId } from '../../entities/ids.ts';
import type { Vm } from '../../entities/vm.ts';
import { domainXml } from '../../libvirt/xml/domain.ts';

/** VmPlacement is where a VM's pieces are on its host. */
export interface VmPlacement {
  /** domainType is from the host's acceleration setting (domainTypeOf). */
  readonly domainType: 'kvm' | 'qemu';
  /** diskPath and seedPath are files in the host's Kumo pool (seedPath null without a seed). */
  readonly diskPath: string;
  readonly seedPath: string | null;
  readonly network: string;
  /** shared says the disks are on shared storage, read and written past the page cache. */
  readonly shared: boolean;
}

/** domainTypeOf is the domain type a host's acceleration setting asks for. */
export function domainTypeOf(acceleration: Acceleration, hostHasKvm: boolean): 'kvm' | 'qemu' {
  if (acceleration === 'TCG') return 'qemu';
  if (acceleration === 'KVM') return 'kvm';
  return hostHasKvm ? 'kvm' : 'qemu';
}

/** domainName is the libvirt name of a VM's domain; the user's name is its title. */
export function domainName(id: VmId): string {
  return `kumo-${id}`;
}

/** diskVolume is the name of a VM's disk (a qcow2 overlay) in its host's pool. */
export function diskVolume(id: VmId): string {
  return `vm-${id}.qcow2`;
}

/** seedVolume is the name of a VM's cloud-init seed in its host's pool. */
export function seedVolume(id: VmId): string {
  return `vm-${id}-seed.iso`;
}

/** randomMac is a locally administered MAC in QEMU's 52:54:00 range. */
export function randomMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** randomVncPassword is a display password: 8 characters, VNC's most (48 random bits). */
export function randomVncPassword(): string {
  return randomBytes(6).toString('base64url');
}

const MiB = 1024n * 1024n;

/** vmDomainXml is a VM's domain: its disk, its seed as a CD-ROM, one NIC, a serial console,
 * the guest agent's channel and a graphical display. */
export function vmDomainXml(vm: Vm, at: VmPlacement): string {
  return domainXml({
    name: domainName(vm.id),
    uuid: vm.domainUuid,
    title: vm.name,
    type: at.domainType,
    memoryMiB: Number(vm.memoryBytes / MiB),
    maxMemoryMiB: Number(vm.maxMemoryBytes / MiB),
    vcpus: vm.vcpus,
    maxVcpus: vm.maxVcpus,
    disks: [
      {
        file: at.diskPath,
        format: 'qcow2',
        target: 'vda',
        ...(at.shared ? { cache: 'none' as const } : {}),
      },
      ...(at.seedPath
        ? [
            {
              file: at.seedPath,
              format: 'raw' as const,
              target: 'sda',
              device: 'cdrom' as const,
              bus: 'scsi' as const,
            },
          ]
        : []),
    ],
    interfaces: [{ network: at.network, mac: vm.mac }],
    // The firmware writes to the serial console too, so its console shows the whole boot.
    biosOnSerial: true,
    // Commands and files reach the guest through its agent (vmExec, vmFilePut).
    guestAgent: true,
    // Nobody knows this password: each opening of the display sets its own (vm-display.ts).
    graphics: { password: randomVncPassword() },
  });
}
