// The rig runs on certificates from src/pki (test/libvirt/*.test.ts prove they work, and
// failures.test.ts that the four bad fixtures are refused); these tests add certificates
// issued now from the rig's CA, connected through Kumo's client.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { certificateDn, issueClientCertificate, readCaDir } from '../../src/pki/index.ts';
import { hostPaths } from '../rig/state.ts';
import { rig, rigHost } from '../support/rig.ts';
import { rejection, within } from '../support/wait.ts';

const run = promisify(execFile);
const rigCa = () => readCaDir(path.join(rig().dir, 'pki', 'ca'));

describe('the rig PKI, made by src/pki', () => {
  it('a new client certificate from the rig CA with the allowed DN connects over TLS', async () => {
    const ca = await rigCa();
    const client = await issueClientCertificate(ca, { organization: 'Kumo' });
    expect(client.dn).toBe('O=Kumo,CN=kumo-controller');
    const h = rigHost('hv1');
    const conn = await LibvirtConnection.open(`qemu+tls://${h.ip}/system`, {
      tls: { ca: ca.certPem, cert: client.certPem, key: client.keyPem },
      timeoutMs: 5000,
    });
    try {
      expect(await conn.host.hostname()).toBe(h.hostname);
    } finally {
      await conn.close();
    }
  });

  it('a new client certificate from the rig CA with another DN is refused by libvirtd', async () => {
    const ca = await rigCa();
    const client = await issueClientCertificate(ca, { commonName: 'stranger' });
    const err = await within(
      rejection(
        LibvirtConnection.open(`qemu+tls://${rigHost('hv2').ip}/system`, {
          tls: { ca: ca.certPem, cert: client.certPem, key: client.keyPem },
          timeoutMs: 5000,
        }),
      ),
      8000,
      'the refusal',
    );
    expect(err).toMatchObject({ name: 'LibvirtError', kind: 'tls' });
    expect(String(err)).toMatch(/refused this client's certificate/);
  });

  it('each host serves a certificate for its address, and allows the DN libvirt prints', async () => {
    const ca = new X509Certificate(await readFile(rig().pki.caCert));
    const clientPem = await readFile(path.join(rig().pki.clientDir, 'clientcert.pem'), 'utf8');
    const printed = (
      await run('virt-pki-query-dn', [path.join(rig().pki.clientDir, 'clientcert.pem')])
    ).stdout.trim();
    expect(certificateDn(clientPem)).toBe(printed);
    for (const h of rig().hosts) {
      const dir = path.join(rig().dir, 'pki', 'hosts', h.name);
      const server = new X509Certificate(await readFile(path.join(dir, 'servercert.pem')));
      expect(server.verify(ca.publicKey)).toBe(true);
      expect(server.checkIP(h.ip)).toBe(h.ip);
      expect(server.checkHost(h.name)).toBe(h.name);
      const conf = await readFile(
        path.join(hostPaths(rig().dir, h.name).etcLibvirt, 'libvirtd.conf'),
        'utf8',
      );
      expect(conf).toContain(`tls_allowed_dn_list = ["${printed}"]`);
    }
  });
});
