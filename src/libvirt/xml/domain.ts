import { attr, buildXml, child, children, parseXml, type XmlNode } from './codec.ts';

/** DiskSpec is one disk or CD-ROM backed by a file on the host (a qcow2 overlay, typically). */
export interface DiskSpec {
  readonly file: string;
  readonly format: 'qcow2' | 'raw';
  /** target is the guest device name: `vda`, `sda`. */
  readonly target: string;
  /** device is what the guest sees. @default disk */
  readonly device?: 'disk' | 'cdrom';
  /** bus defaults to virtio for disks; a CD-ROM needs sata, scsi (virtio-scsi) or ide. */
  readonly bus?: 'virtio' | 'sata' | 'scsi' | 'ide';
  /** readonly makes the guest unable to write (always so for a CD-ROM). */
  readonly readonly?: boolean;
  /** cache `none` bypasses the host's page cache: what a disk on shared storage needs. */
  readonly cache?: 'none';
}

/** InterfaceSpec is one virtio NIC on a libvirt network. */
export interface InterfaceSpec {
  /** network is the libvirt network's name on the host. */
  readonly network: string;
  /** mac is `52:54:00:xx:xx:xx`; the controller keeps it unique. */
  readonly mac: string;
}

/** DomainSpec describes a domain to define. */
export interface DomainSpec {
  readonly name: string;
  readonly uuid?: string;
  /** title is a one-line label shown by virsh (the user's VM name, say). */
  readonly title?: string;
  /** type is `kvm` where /dev/kvm works, `qemu` (TCG emulation) elsewhere. */
  readonly type: 'kvm' | 'qemu';
  readonly memoryMiB: number;
  /** maxMemoryMiB is the ceiling memory can grow to while running. @default memoryMiB */
  readonly maxMemoryMiB?: number;
  readonly vcpus: number;
  /** maxVcpus is the ceiling vCPUs can be hot-plugged to. @default vcpus */
  readonly maxVcpus?: number;
  readonly arch?: string;
  readonly machine?: string;
  readonly disks?: readonly DiskSpec[];
  readonly interfaces?: readonly InterfaceSpec[];
  /** serial adds a pty serial port and console (for the console stream). @default true */
  readonly serial?: boolean;
  /** biosOnSerial has SeaBIOS print to the serial port, so a guest with no OS still writes to its console. */
  readonly biosOnSerial?: boolean;
  /** guestAgent adds the virtio-serial channel the QEMU guest agent listens on. @default false */
  readonly guestAgent?: boolean;
  /** graphics adds a VGA card, a USB tablet and a VNC display behind a password. */
  readonly graphics?: { readonly password: string };
}

/**
 * VNC_LISTEN is where displays listen. All addresses, so that a display moves with its domain
 * to any host and is reached either straight (hosts over TLS) or on the host's loopback (hosts
 * over SSH); a password that expires soon after it is set is what guards it.
 */
export const VNC_LISTEN = '0.0.0.0';

/** GUEST_AGENT_CHANNEL is the virtio-serial port name qemu-guest-agent opens in the guest. */
export const GUEST_AGENT_CHANNEL = 'org.qemu.guest_agent.0';

/** domainXml renders a DomainSpec as libvirt domain XML. */
export function domainXml(spec: DomainSpec): string {
  const devices: XmlNode = {};
  const disks = spec.disks ?? [];
  if (disks.length > 0) devices.disk = disks.map(diskNode);
  if (disks.some((d) => d.bus === 'scsi'))
    devices.controller = { '@_type': 'scsi', '@_model': 'virtio-scsi' };
  const nics = spec.interfaces ?? [];
  if (nics.length > 0) devices.interface = nics.map(interfaceNode);
  if (spec.serial ?? true) {
    devices.serial = { '@_type': 'pty', target: { '@_port': 0 } };
    devices.console = { '@_type': 'pty', target: { '@_type': 'serial', '@_port': 0 } };
  }
  // libvirt adds the virtio-serial controller and picks the host-side socket itself.
  if (spec.guestAgent)
    devices.channel = {
      '@_type': 'unix',
      target: { '@_type': 'virtio', '@_name': GUEST_AGENT_CHANNEL },
    };
  if (spec.graphics) {
    // A tablet gives the pointer absolute positions, so a browser's cursor and the guest's agree.
    devices.input = { '@_type': 'tablet', '@_bus': 'usb' };
    devices.graphics = vncNode(
      { port: -1, autoport: true, listen: VNC_LISTEN },
      spec.graphics.password,
    );
    devices.video = { model: { '@_type': 'vga' } };
  }
  // A virtio balloon lets the memory target change while the domain runs.
  devices.memballoon = { '@_model': 'virtio' };
  const maxVcpus = Math.max(spec.maxVcpus ?? spec.vcpus, spec.vcpus);
  return buildXml({
    domain: {
      '@_type': spec.type,
      name: spec.name,
      ...(spec.uuid ? { uuid: spec.uuid } : {}),
      ...(spec.title ? { title: spec.title } : {}),
      memory: { '@_unit': 'MiB', '#text': Math.max(spec.maxMemoryMiB ?? 0, spec.memoryMiB) },
      currentMemory: { '@_unit': 'MiB', '#text': spec.memoryMiB },
      vcpu: maxVcpus > spec.vcpus ? { '@_current': spec.vcpus, '#text': maxVcpus } : spec.vcpus,
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
  const device = d.device ?? 'disk';
  return {
    '@_type': 'file',
    '@_device': device,
    driver: { '@_name': 'qemu', '@_type': d.format, ...(d.cache ? { '@_cache': d.cache } : {}) },
    source: { '@_file': d.file },
    target: { '@_dev': d.target, '@_bus': d.bus ?? (device === 'cdrom' ? 'sata' : 'virtio') },
    ...(d.readonly || device === 'cdrom' ? { readonly: '' } : {}),
  };
}

/** VncDisplay is a domain's VNC display as its (live) XML tells it. */
export interface VncDisplay {
  /** port is the TCP port on the host; -1 until the domain runs. */
  readonly port: number;
  readonly autoport: boolean;
  readonly listen: string;
}

/** parseVncDisplay reads the VNC display of a domain's XML, or null when it has none. */
export function parseVncDisplay(xml: string): VncDisplay | null {
  const devices = child(child(parseXml(xml), 'domain'), 'devices');
  const vnc = children(devices, 'graphics').find((g) => attr(g, 'type') === 'vnc');
  if (!vnc) return null;
  return {
    port: Number(attr(vnc, 'port') ?? -1),
    autoport: attr(vnc, 'autoport') === 'yes',
    listen: attr(vnc, 'listen') ?? attr(child(vnc, 'listen'), 'address') ?? '',
  };
}

/**
 * vncPasswordXml is the device XML that gives a running display a new password until `validTo`
 * (update-device, live). libvirt refuses a change of anything else, so the rest is as it runs.
 */
export function vncPasswordXml(display: VncDisplay, password: string, validTo: Date): string {
  return buildXml({ graphics: vncNode(display, password, validTo) });
}

function vncNode(d: VncDisplay, password: string, validTo?: Date): XmlNode {
  return {
    '@_type': 'vnc',
    '@_port': d.port,
    '@_autoport': d.autoport ? 'yes' : 'no',
    '@_listen': d.listen,
    '@_passwd': password,
    // libvirt reads the time as UTC without a zone.
    ...(validTo ? { '@_passwdValidTo': validTo.toISOString().slice(0, 19) } : {}),
    listen: { '@_type': 'address', '@_address': d.listen },
  };
}

function interfaceNode(n: InterfaceSpec): XmlNode {
  return {
    '@_type': 'network',
    mac: { '@_address': n.mac },
    source: { '@_network': n.network },
    model: { '@_type': 'virtio' },
  };
}

/** DomainPlatform is what a running domain needs of a host it moves to. */
export interface DomainPlatform {
  readonly type: string;
  readonly arch: string;
  readonly machine: string;
  /** cpuXml is the domain's `<cpu>` element, or null when it runs QEMU's default CPU. */
  readonly cpuXml: string | null;
}

/** parseDomainPlatform reads the domain type, machine and CPU from a domain's (live) XML. */
export function parseDomainPlatform(xml: string): DomainPlatform {
  const domain = child(parseXml(xml), 'domain');
  const type = child(child(domain, 'os'), 'type');
  const cpu = child(domain, 'cpu');
  return {
    type: attr(domain, 'type') ?? '',
    arch: attr(type, 'arch') ?? '',
    machine: attr(type, 'machine') ?? '',
    cpuXml: cpu && child(cpu, 'model') ? buildXml({ cpu }) : null,
  };
}
