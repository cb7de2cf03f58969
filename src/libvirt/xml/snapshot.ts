import { buildXml } from './codec.ts';

/** snapshotXml describes a snapshot to take. */
export function snapshotXml(name: string, description?: string): string {
  return buildXml({ domainsnapshot: { name, ...(description ? { description } : {}) } });
}
