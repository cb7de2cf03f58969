// The fleet simulator: many simulated hypervisor hosts, each a libvirt test driver file of
// running domains, served by the rig's real libvirtd over TLS. Every connection that opens a
// file gets its own private copy of its state, so each URI is a host of its own to Kumo, reached
// through the same transport, RPC, events and statistics calls as a QEMU host.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildXml } from '../../src/libvirt/xml/codec.ts';
import { hostPaths } from '../rig/state.ts';

/** FLEET_DIR is the folder of test driver files inside each rig host (its own /var/lib/libvirt). */
export const FLEET_DIR = '/var/lib/libvirt/kumo-fleet';
/** FLEET_PATH matches the URI path of a simulated host: a file in FLEET_DIR. */
export const FLEET_PATH = /^\/var\/lib\/libvirt\/kumo-fleet\/[a-z0-9-]+\.xml$/;

/** FleetDomain is one simulated domain: in its host's test driver file and in a Vm row. */
export interface FleetDomain {
  readonly name: string;
  readonly uuid: string;
  readonly mac: string;
  /** tap is its NIC's host device, which DOMAIN_INTERFACE_STATS takes. */
  readonly tap: string;
}

/** FleetHost is one simulated hypervisor: a test driver file on a rig host, and its URI. */
export interface FleetHost {
  /** name is the host's name in Kumo (`sim-0001`), also its file's name. */
  readonly name: string;
  /** rigHost is the rig host whose libvirtd serves it (`hv1`). */
  readonly rigHost: string;
  /** uri is `test+tls://<rig host ip>/var/lib/libvirt/kumo-fleet/<name>.xml`. */
  readonly uri: string;
  readonly domains: readonly FleetDomain[];
}

/** FleetPlan says how big a fleet is and where it runs. */
export interface FleetPlan {
  /** rigHosts serve the simulated hosts, round robin. */
  readonly rigHosts: readonly { readonly name: string; readonly ip: string }[];
  readonly hosts: number;
  /** vms are spread over the hosts as evenly as it goes. */
  readonly vms: number;
  /** prefix starts every host and domain name, so that two fleets never meet. @default 'sim' */
  readonly prefix?: string;
}

/**
 * planFleet names the hosts and domains of a fleet. Domain UUIDs are random; MAC addresses are
 * counted in 52:54:fe:xx:xx:xx, apart from the 52:54:00 range Kumo gives real VMs.
 */
export function planFleet(plan: FleetPlan): FleetHost[] {
  const prefix = plan.prefix ?? 'sim';
  const width = String(plan.hosts).length;
  let serial = 0;
  return Array.from({ length: plan.hosts }, (_, h) => {
    const rig = plan.rigHosts[h % plan.rigHosts.length];
    if (!rig) throw new Error('a fleet needs at least one rig host');
    const name = `${prefix}-${String(h + 1).padStart(width, '0')}`;
    const n = Math.floor(plan.vms / plan.hosts) + (h < plan.vms % plan.hosts ? 1 : 0);
    const domains = Array.from({ length: n }, (_, i) => {
      serial++;
      const hex = serial.toString(16).padStart(6, '0');
      return {
        name: `${name}-vm-${i}`,
        uuid: crypto.randomUUID(),
        mac: `52:54:fe:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`,
        tap: `simtap${i}`,
      };
    });
    return {
      name,
      rigHost: rig.name,
      uri: `test+tls://${rig.ip}${FLEET_DIR}/${name}.xml`,
      domains,
    };
  });
}

/**
 * writeFleet writes every host's test driver file into its rig host's /var/lib/libvirt. The test
 * driver starts each domain of a file (one disk, one NIC, a balloon) when a connection opens it.
 */
export function writeFleet(rigDir: string, fleet: readonly FleetHost[]): void {
  for (const host of fleet) {
    const dir = fleetDir(rigDir, host.rigHost);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${host.name}.xml`), hostXml(host));
  }
}

/** removeFleet removes the hosts' files; connections that opened them keep their state. */
export function removeFleet(rigDir: string, fleet: readonly FleetHost[]): void {
  for (const host of fleet)
    rmSync(join(fleetDir(rigDir, host.rigHost), `${host.name}.xml`), { force: true });
}

function fleetDir(rigDir: string, rigHost: string): string {
  return join(hostPaths(rigDir, rigHost).varLibLibvirt, FLEET_DIR.replace('/var/lib/libvirt/', ''));
}

// The node's size is a 32-thread, 128 GiB machine, so that the scheduler has room on every host.
function hostXml(host: FleetHost): string {
  return buildXml({
    node: {
      cpu: { nodes: 1, sockets: 1, cores: 16, threads: 2, active: 32, mhz: 2400, model: 'x86_64' },
      memory: 128 * 2 ** 20,
      domain: host.domains.map((d) => ({
        '@_type': 'test',
        name: d.name,
        uuid: d.uuid,
        memory: { '@_unit': 'MiB', '#text': 512 },
        vcpu: 1,
        os: { type: { '@_arch': 'x86_64', '#text': 'hvm' } },
        devices: {
          disk: {
            '@_type': 'file',
            '@_device': 'disk',
            source: { '@_file': `/var/lib/libvirt/images/kumo/${d.uuid}.qcow2` },
            target: { '@_dev': 'vda', '@_bus': 'virtio' },
          },
          interface: {
            '@_type': 'ethernet',
            mac: { '@_address': d.mac },
            target: { '@_dev': d.tap },
          },
          memballoon: { '@_model': 'virtio' },
        },
      })),
    },
  });
}
