import { attr, child, children, parseXml, text } from './codec.ts';

/** GuestCapability is one architecture a host can run guests of, and with which domain types. */
export interface GuestCapability {
  readonly arch: string;
  readonly domainTypes: readonly string[];
  readonly machines: readonly string[];
}

/** HostCapabilities is what Kumo reads from a host's capabilities XML. */
export interface HostCapabilities {
  readonly uuid: string;
  readonly arch: string;
  readonly cpuModel: string | undefined;
  readonly guests: readonly GuestCapability[];
}

/** parseCapabilities reads `<capabilities>` as returned by CONNECT_GET_CAPABILITIES. */
export function parseCapabilities(xml: string): HostCapabilities {
  const caps = child(parseXml(xml), 'capabilities');
  const host = child(caps, 'host');
  const cpu = child(host, 'cpu');
  return {
    uuid: text(host, 'uuid') ?? '',
    arch: text(cpu, 'arch') ?? '',
    cpuModel: text(cpu, 'model'),
    guests: children(caps, 'guest').map((g) => {
      const arch = child(g, 'arch');
      return {
        arch: attr(arch, 'name') ?? '',
        domainTypes: children(arch, 'domain').map((d) => attr(d, 'type') ?? ''),
        machines: children(arch, 'machine').map((m) => String(m['#text'] ?? '')),
      };
    }),
  };
}
