// The simulated fleet: libvirt test driver files with N running domains per rig host, and the
// get-all-domain-stats reply a QEMU host would send for the same domains.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DomainStatsRecord,
  encodeConnectGetAllDomainStatsRet,
  type NonnullDomain,
  type TypedParam,
} from '../../src/libvirt/generated/remote-protocol.gen.ts';
import { formatUuid } from '../../src/libvirt/uuid.ts';
import { XdrWriter } from '../../src/libvirt/xdr/index.ts';
import { buildXml } from '../../src/libvirt/xml/codec.ts';
import { hostPaths } from '../../test/rig/state.ts';
import { shapedRecord } from './capture.ts';
import { FLEET_PATH } from './driver.ts';

/** FleetDomain is one simulated domain: in the host's test driver file and in a Vm row. */
export interface FleetDomain {
  readonly name: string;
  readonly uuid: string;
  readonly mac: string;
  /** tap is its NIC's host device, which DOMAIN_INTERFACE_STATS takes. */
  readonly tap: string;
}

/** planFleet spreads `total` domains over the hosts as evenly as it goes. */
export function planFleet(hosts: readonly string[], total: number): FleetDomain[][] {
  let serial = 0;
  return hosts.map((host, h) => {
    const n = Math.floor(total / hosts.length) + (h < total % hosts.length ? 1 : 0);
    return Array.from({ length: n }, (_, i) => {
      serial++;
      const hex = serial.toString(16).padStart(6, '0');
      return {
        name: `kbm-${host}-${i}`,
        uuid: randomUUID(),
        mac: `52:54:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`,
        tap: `kbmtap${i}`,
      };
    });
  });
}

/**
 * writeFleet writes a host's test driver file into its own /var/lib/libvirt (FLEET_PATH inside
 * the host). The test driver starts every domain of the file, one disk and one NIC each; each
 * connection opening the file gets its own copy of that state, with the same UUIDs and ids.
 */
export function writeFleet(rigDir: string, host: string, domains: readonly FleetDomain[]): void {
  const xml = buildXml({
    node: {
      domain: domains.map((d) => ({
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
  writeFileSync(fleetFile(rigDir, host), xml);
}

/** removeFleet removes a host's test driver file. */
export function removeFleet(rigDir: string, host: string): void {
  rmSync(fleetFile(rigDir, host), { force: true });
}

function fleetFile(rigDir: string, host: string): string {
  return join(hostPaths(rigDir, host).varLibLibvirt, FLEET_PATH.replace('/var/lib/libvirt/', ''));
}

/**
 * qemuShapedReply encodes the payload of a CONNECT_GET_ALL_DOMAIN_STATS reply for these
 * domains (the handles the test driver gave) as a QEMU host would send it at `step`, each
 * record shaped on `template` (see capture.ts).
 */
export function qemuShapedReply(
  handles: readonly NonnullDomain[],
  taps: ReadonlyMap<string, string>,
  template: readonly TypedParam[],
  step: number,
): Buffer {
  const retStats: DomainStatsRecord[] = handles.map((dom, i) => {
    const uuid = formatUuid(dom.uuid);
    return { dom, params: shapedRecord(template, i, step, uuid, taps.get(uuid) ?? 'vnet0') };
  });
  const w = new XdrWriter(handles.length * 2048);
  encodeConnectGetAllDomainStatsRet(w, { retStats });
  return w.finish();
}
