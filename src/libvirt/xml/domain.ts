import { buildXml, type XmlNode } from './codec.ts';

/** DiskSpec is one disk backed by a file on the host (a qcow2 overlay, typically). */
export interface DiskSpec {
  readonly file: string;
  readonly format: 'qcow2' | 'raw';
  /** target is the guest device name: `vda`. */
  readonly target: string;
  readonly bus?: 'virtio' | 'sata' | 'scsi';
}

/** DomainSpec describes a domain to define. */
export interface DomainSpec {
  readonly name: string;
  readonly uuid?: string;
  /** type is `kvm` where /dev/kvm works, `qemu` (TCG emulation) elsewhere. */
  readonly type: 'kvm' | 'qemu';
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly arch?: string;
  readonly machine?: string;
  readonly disks?: readonly DiskSpec[];
  /** serial adds a pty serial port and console (for the console stream). @default true */
  readonly serial?: boolean;
  /** biosOnSerial has SeaBIOS print to the serial port, so a guest with no OS still writes to its console. */
  readonly biosOnSerial?: boolean;
}

/** domainXml renders a DomainSpec as libvirt domain XML. */
export function domainXml(spec: DomainSpec): string {
  const devices: XmlNode = {};
  const disks = (spec.disks ?? []).map(diskNode);
  if (disks.length > 0) devices.disk = disks;
  if (spec.serial ?? true) {
    devices.serial = { '@_type': 'pty', target: { '@_port': 0 } };
    devices.console = { '@_type': 'pty', target: { '@_type': 'serial', '@_port': 0 } };
  }
  // A virtio balloon lets the memory target change while the domain runs.
  devices.memballoon = { '@_model': 'virtio' };
  return buildXml({
    domain: {
      '@_type': spec.type,
      name: spec.name,
      ...(spec.uuid ? { uuid: spec.uuid } : {}),
      memory: { '@_unit': 'MiB', '#text': spec.memoryMiB },
      vcpu: spec.vcpus,
      os: {
        type: {
          '@_arch': spec.arch ?? 'x86_64',
          ...(spec.machine ? { '@_machine': spec.machine } : {}),
          '#text': 'hvm',
        },
        boot: { '@_dev': 'hd' },
        ...(spec.biosOnSerial ? { bios: { '@_useserial': 'yes' } } : {}),
      },
      features: { acpi: '', apic: '' },
      clock: { '@_offset': 'utc' },
      on_poweroff: 'destroy',
      on_reboot: 'restart',
      on_crash: 'destroy',
      devices,
    },
  });
}

function diskNode(d: DiskSpec): XmlNode {
  return {
    '@_type': 'file',
    '@_device': 'disk',
    driver: { '@_name': 'qemu', '@_type': d.format },
    source: { '@_file': d.file },
    target: { '@_dev': d.target, '@_bus': d.bus ?? 'virtio' },
  };
}
