import { describe, expect, it } from 'vitest';
import { parseCapabilities } from './capabilities.ts';
import { attr, child, parseXml, text } from './codec.ts';
import {
  domainXml,
  parseVncDisplay,
  VNC_LISTEN,
  type VncDisplay,
  vncPasswordXml,
} from './domain.ts';
import { networkXml } from './network.ts';
import { volumeXml } from './storage.ts';

describe('domainXml', () => {
  it('renders a small domain with a qcow2 disk and a serial console', () => {
    const xml = domainXml({
      name: 'vm-1',
      type: 'kvm',
      memoryMiB: 64,
      vcpus: 1,
      disks: [{ file: '/var/lib/libvirt/images/kumo/vm-1.qcow2', format: 'qcow2', target: 'vda' }],
    });
    const d = child(parseXml(xml), 'domain');
    expect(d?.['@_type']).toBe('kvm');
    expect(text(d, 'name')).toBe('vm-1');
    expect(text(d, 'memory')).toBe('64');
    expect(xml).toContain(`<source file="/var/lib/libvirt/images/kumo/vm-1.qcow2"/>`);
    expect(xml).toContain('<console type="pty">');
  });

  it('renders a CD-ROM, a NIC, and ceilings for live resizing', () => {
    const xml = domainXml({
      name: 'vm-2',
      type: 'qemu',
      memoryMiB: 128,
      maxMemoryMiB: 512,
      vcpus: 1,
      maxVcpus: 4,
      disks: [{ file: '/p/seed.iso', format: 'raw', target: 'sda', device: 'cdrom', bus: 'scsi' }],
      interfaces: [{ network: 'kumo', mac: '52:54:00:12:34:56' }],
    });
    const d = child(parseXml(xml), 'domain');
    expect(text(d, 'memory')).toBe('512');
    expect(text(d, 'currentMemory')).toBe('128');
    expect(xml).toContain('<vcpu current="1">4</vcpu>');
    expect(xml).toMatch(/<disk type="file" device="cdrom">[\s\S]*<readonly\/>/);
    expect(xml).toContain('<controller type="scsi" model="virtio-scsi"');
    expect(xml).toContain('<mac address="52:54:00:12:34:56"/>');
    expect(xml).toContain('<source network="kumo"/>');
  });

  it('renders a VNC display behind a password, read back and re-passworded as it runs', () => {
    const xml = domainXml({
      name: 'vm-3',
      type: 'qemu',
      memoryMiB: 64,
      vcpus: 1,
      graphics: { password: 'p4ss"<w' },
    });
    expect(xml).toContain('<input type="tablet" bus="usb"/>');
    expect(xml).toContain('<model type="vga"/>');
    expect(parseVncDisplay(xml)).toEqual({ port: -1, autoport: true, listen: VNC_LISTEN });
    expect(
      attr(child(child(child(parseXml(xml), 'domain'), 'devices'), 'graphics'), 'passwd'),
    ).toBe('p4ss"<w');
    expect(parseVncDisplay(domainXml({ name: 'x', type: 'qemu', memoryMiB: 1, vcpus: 1 }))).toBe(
      null,
    );

    const live = `<domain><devices><graphics type="spice" port="5901"/>
      <graphics type="vnc" port="5903" autoport="yes" listen="0.0.0.0">
      <listen type="address" address="0.0.0.0"/></graphics></devices></domain>`;
    const display = parseVncDisplay(live);
    expect(display).toEqual({ port: 5903, autoport: true, listen: '0.0.0.0' });
    const update = vncPasswordXml(
      display as VncDisplay,
      'abc',
      new Date('2026-12-06T21:30:05.123Z'),
    );
    expect(update).toContain(
      '<graphics type="vnc" port="5903" autoport="yes" listen="0.0.0.0" passwd="abc" passwdValidTo="2026-12-06T21:30:05">',
    );
    expect(update).toContain('<listen type="address" address="0.0.0.0"/>');
  });

  it('escapes user text instead of splicing it', () => {
    const xml = domainXml({
      name: `a"><devices><evil/></devices><x y="`,
      type: 'qemu',
      memoryMiB: 1,
      vcpus: 1,
    });
    expect(xml).not.toContain('<evil/>');
    expect(text(child(parseXml(xml), 'domain'), 'name')).toBe(
      `a"><devices><evil/></devices><x y="`,
    );
  });
});

describe('volumeXml', () => {
  it('names the backing store of an overlay', () => {
    const xml = volumeXml({
      name: 'o.qcow2',
      capacityBytes: 1n << 30n,
      format: 'qcow2',
      backing: { path: '/b.qcow2', format: 'qcow2' },
    });
    expect(xml).toContain('<capacity unit="bytes">1073741824</capacity>');
    expect(xml).toMatch(/<backingStore>\s*<path>\/b.qcow2<\/path>\s*<format type="qcow2"\/>/);
  });
});

describe('networkXml', () => {
  it('renders an isolated bridge with no addresses, escaping the name', () => {
    const xml = networkXml({ name: 'kumo-guests', bridge: 'kumogst0' });
    const n = child(parseXml(xml), 'network');
    expect(text(n, 'name')).toBe('kumo-guests');
    expect(xml).toContain('<bridge name="kumogst0" stp="off" delay="0"/>');
    expect(xml).not.toContain('<forward');
    expect(xml).not.toContain('<ip');
    const evil = networkXml({ name: '</name><forward mode="nat"/><name>x' });
    expect(evil).not.toContain('<forward');
    expect(text(child(parseXml(evil), 'network'), 'name')).toBe(
      '</name><forward mode="nat"/><name>x',
    );
    expect(networkXml({ name: 'n' })).not.toContain('<bridge');
  });
});

describe('parseCapabilities', () => {
  it('reads the host UUID, arch and guest domain types', () => {
    const caps =
      parseCapabilities(`<capabilities><host><uuid>0e4f3a2c-0000-4000-8000-000000000001</uuid>
      <cpu><arch>x86_64</arch><model>Skylake</model></cpu></host>
      <guest><os_type>hvm</os_type><arch name="x86_64"><machine maxCpus="255">pc-i440fx-7.2</machine><machine>pc</machine>
      <domain type="qemu"/><domain type="kvm"/></arch></guest></capabilities>`);
    expect(caps).toEqual({
      uuid: '0e4f3a2c-0000-4000-8000-000000000001',
      arch: 'x86_64',
      cpuModel: 'Skylake',
      guests: [{ arch: 'x86_64', domainTypes: ['qemu', 'kvm'], machines: ['pc-i440fx-7.2', 'pc'] }],
    });
  });
});
