// Node's OpenSSL takes src/pki's certificates in both roles (libvirtd's GnuTLS takes them in
// the rig): mutual TLS on loopback, and the client's check of the server's subjectAltName.
import type { AddressInfo } from 'node:net';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  type IssuedCertificate,
  issueClientCertificate,
  issueServerCertificate,
} from '../../src/pki/index.ts';

const ca = await createCertificateAuthority();
const client = await issueClientCertificate(ca);
const servers: ReturnType<typeof createServer>[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function serve(cert: IssuedCertificate): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = createServer(
    { cert: cert.certPem, key: cert.keyPem, ca: ca.certPem, requestCert: true },
    (socket) => {
      peers.push(
        socket.authorized ? String(socket.getPeerCertificate().subject.CN) : 'unauthorized',
      );
      socket.end('ok');
    },
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, peers };
}

function dial(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
    });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('certificates in Node TLS', () => {
  it('a server certificate for the dialled IP and a client certificate authenticate both ways', async () => {
    const { port, peers } = await serve(await issueServerCertificate(ca, { address: '127.0.0.1' }));
    const socket = await dial(port);
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerCertificate().subject.CN).toBe('127.0.0.1');
    await new Promise((resolve) => socket.once('end', resolve).resume());
    expect(peers).toEqual(['kumo-controller']);
  });

  it('a server certificate for another address is refused by the client', async () => {
    const { port } = await serve(await issueServerCertificate(ca, { address: '192.0.2.1' }));
    await expect(dial(port)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});
