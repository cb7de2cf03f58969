import { connect, type TLSSocket } from 'node:tls';
import { connectError, withTimeout } from './errors.ts';
import { TransportError } from './failure.ts';
import type { TlsCredentials } from './pki.ts';
import { secureContextFor } from './tls-context.ts';

/** DEFAULT_TLS_PORT is libvirtd's TLS port. */
export const DEFAULT_TLS_PORT = 16514;

/** TlsDialOptions say where to connect and with which credentials. */
export interface TlsDialOptions {
  readonly host: string;
  readonly port: number;
  readonly credentials: TlsCredentials;
  readonly timeoutMs: number;
}

// Errors from verifying the daemon's certificate, as opposed to the daemon refusing ours.
const VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * dialTls opens a TLS session to libvirtd, verifying its certificate against our CA and the host
 * name or IP, then reads the one byte libvirtd sends inside TLS once its own checks of our
 * certificate passed (1). A daemon that rejects us closes the session instead, which Node only
 * notices after it has reported the handshake complete, so that byte is the real verdict.
 */
export function dialTls(opts: TlsDialOptions): Promise<TLSSocket> {
  const where = `${opts.host}:${opts.port}`;
  const socket = connect({
    host: opts.host,
    port: opts.port,
    secureContext: secureContextFor(opts.credentials),
    ...(isIp(opts.host) ? {} : { servername: opts.host }),
  });
  socket.setNoDelay(true);
  const ready = new Promise<TLSSocket>((resolve, reject) => {
    let handshaken = false;
    const onError = (err: NodeJS.ErrnoException) => {
      if (!handshaken && err.code && VERIFY_CODES.has(err.code)) {
        reject(
          new TransportError(
            'tls',
            'untrusted-server',
            `certificate of ${where} is not trusted (${err.code}): ${err.message}`,
            { cause: err },
          ),
        );
      } else if (handshaken || /alert/i.test(err.code ?? '')) {
        reject(refused(where, err.code ?? err.message, err));
      } else {
        reject(connectError(err, where));
      }
    };
    socket.on('error', onError);
    socket.once('secureConnect', () => {
      handshaken = true;
      readVerdict(socket, where).then(() => {
        socket.off('error', onError);
        resolve(socket);
      }, reject);
    });
  });
  return withTimeout(ready, opts.timeoutMs, where, () => socket.destroy());
}

function readVerdict(socket: TLSSocket, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onReadable = () => {
      const byte = socket.read(1) as Buffer | null;
      if (byte === null) return;
      cleanup();
      if (byte[0] === 1) resolve();
      else reject(refused(where, `verdict byte ${byte[0]}`));
    };
    const onEnd = () => {
      cleanup();
      reject(refused(where, 'session closed before the verdict'));
    };
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

function refused(where: string, detail: string, cause?: unknown): TransportError {
  return new TransportError(
    'tls',
    'client-refused',
    `libvirtd at ${where} refused this client's certificate (${detail}): check that it is signed by the CA libvirtd trusts, not expired, and allowed by tls_allowed_dn_list`,
    cause === undefined ? {} : { cause },
  );
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
