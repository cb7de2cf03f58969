import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { LibvirtError } from '../errors.ts';
import type { Dialed } from './dialed.ts';
import { withTimeout } from './errors.ts';
import { TransportError } from './failure.ts';
import { fingerprintOf } from './known-hosts.ts';

/** SshProxy chooses the remote command, as libvirt's `proxy=` parameter does. */
export type SshProxy = 'auto' | 'native' | 'netcat';

/** SshDialOptions say where to connect, how to authenticate and which host keys to accept. */
export interface SshDialOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** privateKey authenticates; without it the agent at `agent` is used. */
  readonly privateKey?: string | Buffer;
  readonly agent?: string;
  /** hostKeys are the accepted host key fingerprints (`SHA256:...`); one must match. */
  readonly hostKeys: readonly string[];
  /** remoteName is the URI the helper opens on the host (`qemu:///system`). */
  readonly remoteName: string;
  readonly proxy: SshProxy;
  /** socket is the daemon socket the netcat fallback connects to. */
  readonly socket: string;
  /** netcat is the netcat binary on the host. @default 'nc' */
  readonly netcat: string;
  readonly timeoutMs: number;
}

/**
 * dialSsh opens an SSH session and runs a helper whose stdin/stdout carry libvirt's RPC, as
 * libvirt's own ssh transport does: `virt-ssh-helper <uri>` when the host has it, else
 * `nc -U <socket>`. The host key must match a pinned fingerprint; there is no trust on first use.
 */
export function dialSsh(opts: SshDialOptions): Promise<Dialed> {
  const where = `${opts.user}@${opts.host}:${opts.port}`;
  const client = new Client();
  let offered: string | null = null;
  const config: ConnectConfig = {
    host: opts.host,
    port: opts.port,
    username: opts.user,
    readyTimeout: opts.timeoutMs,
    keepaliveInterval: 0,
    hostVerifier: (key: Buffer) => {
      offered = fingerprintOf(key);
      return opts.hostKeys.includes(offered);
    },
    ...(opts.privateKey !== undefined ? { privateKey: opts.privateKey } : {}),
    ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
  };
  const ready = new Promise<Dialed>((resolve, reject) => {
    client.once('error', (err: Error & { level?: string }) => {
      reject(sshError(err, where, opts.hostKeys, offered));
      client.end();
    });
    client.once('ready', () => {
      client.exec(helperCommand(opts), (err, channel) => {
        if (err) {
          reject(
            new LibvirtError('ssh', `cannot run the libvirt helper on ${where}: ${err.message}`, {
              cause: err,
            }),
          );
          client.end();
          return;
        }
        resolve(adopt(client, channel));
      });
    });
  });
  try {
    client.connect(config);
  } catch (err) {
    return Promise.reject(
      // ssh2 throws here when it cannot parse the private key.
      new TransportError('ssh', 'credentials', `cannot connect to ${where}: ${String(err)}`, {
        cause: err,
      }),
    );
  }
  return withTimeout(ready, opts.timeoutMs + 1000, where, () => client.end());
}

/** helperCommand builds the remote command line; every value in it is shell-quoted. */
export function helperCommand(
  opts: Pick<SshDialOptions, 'proxy' | 'remoteName' | 'socket' | 'netcat'>,
): string {
  const native = `exec virt-ssh-helper ${shQuote(opts.remoteName)}`;
  const nc = shQuote(opts.netcat);
  const netcat = [
    // OpenBSD nc needs -q0 to exit when stdin closes; other netcats reject -q.
    `if ${nc} -q 2>&1 | grep 'requires an argument' >/dev/null 2>&1; then ARG=-q0; else ARG=; fi`,
    `exec ${nc} $ARG -U ${shQuote(opts.socket)}`,
  ].join('; ');
  switch (opts.proxy) {
    case 'native':
      return `sh -c ${shQuote(native)}`;
    case 'netcat':
      return `sh -c ${shQuote(netcat)}`;
    case 'auto':
      return `sh -c ${shQuote(`if command -v virt-ssh-helper >/dev/null 2>&1; then ${native}; fi; ${netcat}`)}`;
  }
}

/** shQuote quotes one word for a POSIX shell. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

// The channel is the RPC byte stream; the SSH client lives exactly as long as it. The helper's
// stderr says why it failed (no daemon socket, permission denied), so it is kept for diagnostics.
function adopt(client: Client, channel: ClientChannel): Dialed {
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString('utf8');
  });
  channel.once('close', () => client.end());
  client.on('error', (err) => (channel as Duplex).destroy(err));
  const said = () => (stderr.trim() === '' ? '' : `the helper on the host said: ${stderr.trim()}`);
  return { stream: channel, diagnostics: said, reach: (port, ms) => forward(client, port, ms) };
}

// A port on the host's loopback, through the session's direct-tcpip channel: the host need not
// open it to the network.
function forward(client: Client, port: number, timeoutMs: number): Promise<Duplex> {
  const where = `port ${port} on the host, through SSH`;
  let opened: ClientChannel | null = null;
  const ready = new Promise<Duplex>((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, '127.0.0.1', port, (err, channel) => {
      if (err) {
        reject(
          new TransportError(
            'transport',
            'unreachable',
            `cannot connect to ${where}: ${err.message}`,
            {
              cause: err,
            },
          ),
        );
        return;
      }
      opened = channel;
      resolve(channel);
    });
  });
  return withTimeout(ready, timeoutMs, where, () => opened?.destroy());
}

function sshError(
  err: Error & { level?: string },
  where: string,
  pinned: readonly string[],
  offered: string | null,
): LibvirtError {
  if (offered !== null && !pinned.includes(offered)) {
    const expected = pinned.length > 0 ? pinned.join(' or ') : 'none known';
    return new TransportError(
      'ssh',
      pinned.length > 0 ? 'host-key-mismatch' : 'host-key-unknown',
      `host key of ${where} does not match: it offered ${offered}, expected ${expected}. If the host was reinstalled, confirm and pin its new key.`,
      { cause: err, offeredHostKey: offered },
    );
  }
  if (err.level === 'client-authentication') {
    return new TransportError(
      'ssh',
      'client-auth',
      `SSH authentication to ${where} failed: the key was not accepted`,
      { cause: err },
    );
  }
  if (err.level === 'client-timeout') {
    return new TransportError(
      'transport',
      'unreachable',
      `cannot connect to ${where}: no SSH handshake in time`,
      { cause: err },
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code)
    return new TransportError('transport', 'unreachable', `cannot connect to ${where}: ${code}`, {
      cause: err,
    });
  return new LibvirtError('ssh', `SSH to ${where} failed: ${err.message}`, { cause: err });
}
