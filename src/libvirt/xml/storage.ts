import { buildXml } from './codec.ts';

/** dirPoolXml describes a directory-backed storage pool. */
export function dirPoolXml(name: string, path: string): string {
  return buildXml({ pool: { '@_type': 'dir', name, target: { path } } });
}

/** VolumeSpec describes a volume; a backing store makes it a copy-on-write overlay. */
export interface VolumeSpec {
  readonly name: string;
  readonly capacityBytes: bigint;
  readonly format: 'qcow2' | 'raw';
  readonly backing?: { readonly path: string; readonly format: 'qcow2' | 'raw' };
}

/** volumeXml renders a VolumeSpec as libvirt volume XML. */
export function volumeXml(spec: VolumeSpec): string {
  return buildXml({
    volume: {
      name: spec.name,
      capacity: { '@_unit': 'bytes', '#text': spec.capacityBytes.toString() },
      target: { format: { '@_type': spec.format } },
      ...(spec.backing
        ? { backingStore: { path: spec.backing.path, format: { '@_type': spec.backing.format } } }
        : {}),
    },
  });
}
