import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { SSH_PORT, TLS_PORT } from './config.ts';

/** A probe resolves true when the service answered as it should, else a reason. */
export type ProbeResult = true | string;

const PROBE_TIMEOUT_MS = 2000;

/**
 * probeTls connects to libvirtd's TLS port with the client certificate in pkiDir and waits for
 * the byte libvirtd sends once it has checked the certificate and DN (0x01 = accepted).
 */
export function probeTls(ip: string, pkiDir: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: ip,
      port: TLS_PORT,
      ca: readFileSync(path.join(pkiDir, 'cacert.pem')),
      cert: readFileSync(path.join(pkiDir, 'clientcert.pem')),
      key: readFileSync(path.join(pkiDir, 'clientkey.pem')),
    });
    const done = (result: ProbeResult) => {
      // A TLS close_notify (end) rather than a reset keeps libvirtd's log free of I/O errors.
      if (result === true) socket.end();
      else socket.destroy();
      resolve(result);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(`no answer from ${ip}:${TLS_PORT}`));
    socket.once('error', (err) => done(`${ip}:${TLS_PORT}: ${err.message}`));
    socket.once('close', () => done(`${ip}:${TLS_PORT} closed the connection`));
    socket.once('data', (chunk: Buffer) =>
      done(chunk[0] === 1 ? true : `${ip}:${TLS_PORT} sent ${chunk[0]} instead of 1`),
    );
  });
}

/** probeSsh connects to sshd and waits for its SSH-2.0 banner. */
export function probeSsh(ip: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port: SSH_PORT });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(`no banner from ${ip}:${SSH_PORT}`));
    socket.once('error', (err) => done(`${ip}:${SSH_PORT}: ${err.message}`));
    socket.once('close', () => done(`${ip}:${SSH_PORT} closed the connection`));
    socket.once('data', (chunk: Buffer) =>
      done(
        chunk.toString('latin1').startsWith('SSH-2.0-') ? true : `${ip}:${SSH_PORT} is not sshd`,
      ),
    );
  });
}
