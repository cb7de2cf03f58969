import { buildXml, type XmlNode } from './codec.ts';

/** NetworkSpec describes a libvirt virtual network that guests' NICs attach to. */
export interface NetworkSpec {
  readonly name: string;
  readonly uuid?: string;
  /** bridge names the host's bridge device (at most 15 characters); libvirt picks `virbrN` when absent. */
  readonly bridge?: string;
}

/**
 * networkXml renders an isolated network: a bridge with no `<forward>` and no `<ip>`, so guests
 * on it reach only each other and libvirt runs no dnsmasq for it (libvirt 9 still sets up its
 * firewall chains, so the host needs iptables).
 */
export function networkXml(spec: NetworkSpec): string {
  const network: XmlNode = { name: spec.name };
  if (spec.uuid) network.uuid = spec.uuid;
  if (spec.bridge) network.bridge = { '@_name': spec.bridge, '@_stp': 'off', '@_delay': 0 };
  return buildXml({ network });
}
