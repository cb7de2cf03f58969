import { LibvirtError } from './errors.ts';

/** formatUuid renders libvirt's 16 raw UUID bytes as the canonical 36-character string. */
export function formatUuid(raw: Uint8Array): string {
  const h = Buffer.from(raw).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** parseUuid turns a UUID string (with or without dashes) into libvirt's 16 raw bytes. */
export function parseUuid(text: string): Buffer {
  const hex = text.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex))
    throw new LibvirtError('uri', `not a UUID: ${JSON.stringify(text)}`);
  return Buffer.from(hex, 'hex');
}
