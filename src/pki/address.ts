import { isIP } from 'node:net';

/** HostAddress is a host's address as a certificate names it: an IP address or a DNS name. */
export interface HostAddress {
  readonly kind: 'ip' | 'dns';
  /** value is the address as given (DNS names lowercased, brackets of an IPv6 literal removed). */
  readonly value: string;
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * parseHostAddress classifies an address for a server certificate and refuses anything that
 * is neither an IP address nor a valid DNS name, saying why.
 */
export function parseHostAddress(input: string): HostAddress {
  const trimmed = input.trim();
  const unbracketed = /^\[.*\]$/.test(trimmed) ? trimmed.slice(1, -1) : trimmed;
  if (isIP(unbracketed)) return { kind: 'ip', value: unbracketed };
  if (trimmed === '') throw new Error('the host address is empty');
  const name = trimmed.toLowerCase().replace(/\.$/, '');
  if (name.length > 253) throw new Error(`"${input}" is longer than a DNS name may be`);
  const labels = name.split('.');
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) {
    throw new Error(
      `"${input}" is neither an IP address nor a DNS name (bad label "${bad}": letters, digits and inner hyphens only)`,
    );
  }
  // A name made only of numbers and dots is a mistyped IPv4 address, not a host name.
  if (labels.every((l) => /^\d+$/.test(l))) {
    throw new Error(`"${input}" is not a valid IP address`);
  }
  return { kind: 'dns', value: name };
}
