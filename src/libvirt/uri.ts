import { LibvirtError } from './errors.ts';

/** Transport is how the daemon is reached. */
export type Transport = 'unix' | 'tls' | 'ssh';

/** LibvirtUri is a parsed libvirt connection URI (`driver[+transport]://[user@][host][:port]/path[?params]`). */
export interface LibvirtUri {
  readonly raw: string;
  /** driver is the hypervisor driver: `qemu`, `test`. */
  readonly driver: string;
  readonly transport: Transport;
  readonly host: string | null;
  readonly port: number | null;
  readonly user: string | null;
  /** path is the driver's path: `/system`, `/default`. */
  readonly path: string;
  /** params holds every query parameter, transport ones included. */
  readonly params: ReadonlyMap<string, string>;
  /** remoteName is what CONNECT_OPEN receives: the URI without transport, host and transport parameters. */
  readonly remoteName: string;
}

// Parameters consumed by the client side, never sent to the daemon (libvirt's remote driver strips the same).
const TRANSPORT_PARAMS = new Set([
  'name',
  'command',
  'socket',
  'auth',
  'netcat',
  'keyfile',
  'sshauth',
  'no_verify',
  'no_tty',
  'pkipath',
  'known_hosts',
  'known_hosts_verify',
  'tls_priority',
  'mode',
  'proxy',
]);

const SCHEME = /^([a-z][a-z0-9]*)(?:\+([a-z0-9]+))?$/;

/** parseUri parses a libvirt URI as libvirt does; it throws a LibvirtError of kind `uri`. */
export function parseUri(raw: string): LibvirtUri {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LibvirtError('uri', `not a libvirt URI: ${JSON.stringify(raw)}`);
  }
  const scheme = SCHEME.exec(url.protocol.slice(0, -1));
  if (!scheme) throw new LibvirtError('uri', `bad scheme in ${raw}: expected driver[+transport]`);
  const driver = scheme[1] as string;
  const host = url.hostname === '' ? null : url.hostname.replace(/^\[(.*)\]$/, '$1');
  const transport = toTransport(scheme[2], host, raw);
  if (transport !== 'unix' && host === null) {
    throw new LibvirtError('uri', `${raw}: the ${transport} transport needs a host`);
  }
  const params = new Map(url.searchParams);
  if (params.has('no_verify') && params.get('no_verify') !== '0') {
    throw new LibvirtError(
      'uri',
      `${raw}: no_verify is refused; Kumo always verifies the server certificate`,
    );
  }
  const passed = [...url.searchParams].filter(([k]) => !TRANSPORT_PARAMS.has(k));
  const query = passed.length > 0 ? `?${new URLSearchParams(passed).toString()}` : '';
  const path = decodePath(url.pathname, raw);
  return {
    raw,
    driver,
    transport,
    host,
    port: url.port === '' ? null : Number(url.port),
    user: url.username === '' ? null : decodeURIComponent(url.username),
    path,
    params,
    remoteName: params.get('name') ?? `${driver}://${path}${query}`,
  };
}

function decodePath(pathname: string, raw: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    throw new LibvirtError('uri', `bad percent-encoding in the path of ${raw}`);
  }
}

function toTransport(t: string | undefined, host: string | null, raw: string): Transport {
  switch (t) {
    case undefined:
      return host === null ? 'unix' : 'tls';
    case 'unix':
    case 'tls':
    case 'ssh':
      return t;
    case 'libssh':
    case 'libssh2':
      return 'ssh';
    case 'tcp':
      throw new LibvirtError(
        'uri',
        `${raw}: the tcp transport is unencrypted and unauthenticated; use tls or ssh`,
      );
    default:
      throw new LibvirtError('uri', `${raw}: unsupported transport ${t} (use unix, tls or ssh)`);
  }
}
