import { Client } from 'ssh2';
import { withTimeout } from './errors.ts';
import { TransportError } from './failure.ts';
import { fingerprintOf } from './known-hosts.ts';

/** SshHostKey is the host key an SSH server offered. */
export interface SshHostKey {
  /** fingerprint is OpenSSH's `SHA256:<base64>`, the form dialSsh pins. */
  readonly fingerprint: string;
  /** algorithm is the key's type, e.g. `ssh-ed25519`. */
  readonly algorithm: string;
}

/** SshProbeOptions say which SSH server to ask. */
export interface SshProbeOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/**
 * probeSshHostKey connects to an SSH server, reads the host key it offers and hangs up before
 * authenticating, so an admin can confirm the key before it is pinned. It negotiates as dialSsh
 * does (same library, same algorithm preferences), so the key it reports is the one a later
 * connection will be offered.
 */
export function probeSshHostKey(opts: SshProbeOptions): Promise<SshHostKey> {
  const where = `${opts.host}:${opts.port}`;
  const client = new Client();
  let found: SshHostKey | null = null;
  const probed = new Promise<SshHostKey>((resolve, reject) => {
    client.once('error', (err: Error & { level?: string; code?: string }) => {
      client.end();
      // Rejecting the key is how we hang up: ssh2 reports that as an error.
      if (found !== null) resolve(found);
      else reject(probeError(err, where));
    });
    client.once('ready', () => {
      client.end();
      reject(new TransportError('ssh', 'unreachable', `${where} authenticated without a host key`));
    });
  });
  try {
    client.connect({
      host: opts.host,
      port: opts.port,
      username: 'kumo-host-key-probe',
      readyTimeout: opts.timeoutMs,
      keepaliveInterval: 0,
      hostVerifier: (key: Buffer) => {
        found = { fingerprint: fingerprintOf(key), algorithm: keyType(key) };
        return false;
      },
    });
  } catch (err) {
    return Promise.reject(
      new TransportError('ssh', 'unreachable', `cannot connect to ${where}: ${String(err)}`, {
        cause: err,
      }),
    );
  }
  return withTimeout(probed, opts.timeoutMs + 1000, where, () => client.end());
}

// An SSH public key blob starts with its type as an SSH string: a u32 length, then the name.
function keyType(blob: Buffer): string {
  const n = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return n > 0 && n < 64 && blob.length >= 4 + n
    ? blob.subarray(4, 4 + n).toString('ascii')
    : 'unknown';
}

function probeError(err: Error & { level?: string; code?: string }, where: string): TransportError {
  const reason =
    err.level === 'client-timeout' ? 'no SSH handshake in time' : (err.code ?? err.message);
  return new TransportError('transport', 'unreachable', `cannot connect to ${where}: ${reason}`, {
    cause: err,
  });
}
