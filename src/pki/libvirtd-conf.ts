import { SYSTEM_PATHS } from './layout.ts';

/** LibvirtdTlsOptions are what a host's libvirtd.conf needs to serve TLS to Kumo's clients. */
export interface LibvirtdTlsOptions {
  /**
   * allowedDns are the client DNs libvirtd admits (tls_allowed_dn_list), as {@link
   * certificateDn} gives them. libvirt matches them as GLib patterns: `*` and `?` are
   * wildcards and cannot be escaped, so a DN containing them admits a little more than itself.
   */
  readonly allowedDns: readonly string[];
  /** @default SYSTEM_PATHS.ca */
  readonly caFile?: string;
  /** @default SYSTEM_PATHS.serverCert */
  readonly certFile?: string;
  /** @default SYSTEM_PATHS.serverKey */
  readonly keyFile?: string;
}

/**
 * confString quotes a value for libvirt's config parser, which has no escapes: `"..."` or
 * `'...'` hold anything but their own quote and a newline, `"""..."""` anything but `"""`.
 */
export function confString(value: string): string {
  if (!/[\r\n]/.test(value)) {
    if (!value.includes('"')) return `"${value}"`;
    if (!value.includes("'")) return `'${value}'`;
  }
  if (!value.includes('"""') && !value.endsWith('"')) return `"""${value}"""`;
  throw new Error(`${JSON.stringify(value)} cannot be written as a libvirt config string`);
}

/**
 * libvirtdTlsLines are the libvirtd.conf lines for a TLS host: listen_tls, key_file,
 * cert_file, ca_file and tls_allowed_dn_list. libvirtd honours listen_tls only when it runs
 * with `--listen`; under systemd socket activation enable `libvirtd-tls.socket` instead.
 */
export function libvirtdTlsLines(opts: LibvirtdTlsOptions): string[] {
  if (opts.allowedDns.length === 0) {
    // Without the list libvirtd admits every client the CA signed: Kumo always names its own.
    throw new Error('tls_allowed_dn_list needs at least one client DN');
  }
  return [
    'listen_tls = 1',
    `key_file = ${confString(opts.keyFile ?? SYSTEM_PATHS.serverKey)}`,
    `cert_file = ${confString(opts.certFile ?? SYSTEM_PATHS.serverCert)}`,
    `ca_file = ${confString(opts.caFile ?? SYSTEM_PATHS.ca)}`,
    `tls_allowed_dn_list = [${opts.allowedDns.map(confString).join(', ')}]`,
  ];
}
