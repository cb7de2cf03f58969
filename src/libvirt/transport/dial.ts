import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { LibvirtError } from '../errors.ts';
import type { LibvirtUri } from '../uri.ts';
import type { Dialed } from './dialed.ts';
import { TransportError } from './failure.ts';
import { knownHostKeys } from './known-hosts.ts';
import { loadPki, pkiFiles, type TlsCredentials } from './pki.ts';
import { dialSsh, type SshProxy } from './ssh.ts';
import { dialTcp } from './tcp.ts';
import { DEFAULT_TLS_PORT, dialTls } from './tls.ts';
import { DEFAULT_UNIX_SOCKET, dialUnix } from './unix.ts';

/** SshCredentials authenticate the client and pin the host; URI parameters fill what is absent. */
export interface SshCredentials {
  readonly privateKey?: string | Buffer;
  /** hostKeys are pinned fingerprints (`SHA256:...`); when empty, known_hosts is consulted. */
  readonly hostKeys?: readonly string[];
}

/** DialOptions carry credentials given directly (a controller keeps them in its database). */
export interface DialOptions {
  /** tls replaces the PKI files named by `pkipath` or libvirt's default locations. */
  readonly tls?: TlsCredentials;
  readonly ssh?: SshCredentials;
  /** timeoutMs bounds connecting, including the TLS or SSH handshake. */
  readonly timeoutMs: number;
}

// A daemon reached through its unix socket runs on this machine.
const LOOPBACK = '127.0.0.1';

/** dial opens the byte stream that a URI's transport names. */
export async function dial(uri: LibvirtUri, opts: DialOptions): Promise<Dialed> {
  switch (uri.transport) {
    case 'unix': {
      const stream = await dialUnix(
        uri.params.get('socket') ?? DEFAULT_UNIX_SOCKET,
        opts.timeoutMs,
      );
      return { stream, diagnostics: () => '', reach: (port, ms) => dialTcp(LOOPBACK, port, ms) };
    }
    case 'tls': {
      const credentials = opts.tls ?? (await loadPki(pkiFiles(uri.params.get('pkipath'))));
      const host = uri.host as string;
      const stream = await dialTls({
        host,
        port: uri.port ?? DEFAULT_TLS_PORT,
        credentials,
        timeoutMs: opts.timeoutMs,
      });
      return { stream, diagnostics: () => '', reach: (port, ms) => dialTcp(host, port, ms) };
    }
    case 'ssh':
      return dialSshUri(uri, opts);
  }
}

async function dialSshUri(uri: LibvirtUri, opts: DialOptions): Promise<Dialed> {
  const host = uri.host as string;
  const port = uri.port ?? 22;
  const keyfile = uri.params.get('keyfile');
  const privateKey = opts.ssh?.privateKey ?? (keyfile ? await readKey(keyfile) : undefined);
  const agent = privateKey === undefined ? process.env.SSH_AUTH_SOCK : undefined;
  if (privateKey === undefined && agent === undefined) {
    throw new TransportError(
      'ssh',
      'credentials',
      `${uri.raw}: no SSH key given (keyfile=) and no SSH agent (SSH_AUTH_SOCK)`,
    );
  }
  let hostKeys = opts.ssh?.hostKeys ?? [];
  if (hostKeys.length === 0) {
    const file = uri.params.get('known_hosts') ?? join(homedir(), '.ssh', 'known_hosts');
    hostKeys = await knownHostKeys(file, host, port).catch(() => []);
    if (hostKeys.length === 0) {
      throw new TransportError(
        'ssh',
        'host-key-unknown',
        `no pinned host key for ${host}:${port} (none given, none in ${file})`,
      );
    }
  }
  return dialSsh({
    host,
    port,
    user: uri.user ?? userInfo().username,
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(agent !== undefined ? { agent } : {}),
    hostKeys,
    remoteName: uri.remoteName,
    proxy: sshProxy(uri),
    socket: uri.params.get('socket') ?? DEFAULT_UNIX_SOCKET,
    netcat: uri.params.get('netcat') ?? 'nc',
    timeoutMs: opts.timeoutMs,
  });
}

function sshProxy(uri: LibvirtUri): SshProxy {
  if (uri.params.has('socket') || uri.params.has('netcat')) return 'netcat';
  const p = uri.params.get('proxy') ?? 'auto';
  if (p === 'auto' || p === 'native' || p === 'netcat') return p;
  throw new LibvirtError('uri', `${uri.raw}: proxy must be auto, native or netcat`);
}

async function readKey(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new TransportError(
      'ssh',
      'credentials',
      `cannot read the SSH key ${path} (${(err as NodeJS.ErrnoException).code})`,
      { cause: err },
    );
  }
}
