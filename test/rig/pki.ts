import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  type Subject,
  selfSignedClientCertificate,
  writeCaDir,
  writeClientDir,
  writeServerDir,
} from '../../src/pki/index.ts';

/** CONTROLLER_SUBJECT is the controller client certificate's subject. */
export const CONTROLLER_SUBJECT: Subject = [
  ['O', 'Kumo'],
  ['CN', 'kumo-controller'],
];

/** RigPki is where `createPki` put everything; directories are libvirt pkipath style. */
export interface RigPki {
  readonly caCert: string;
  /** clientDir holds cacert.pem, clientcert.pem and clientkey.pem for the controller. */
  readonly clientDir: string;
  /** clientDn is the controller certificate's DN as libvirtd compares it (tls_allowed_dn_list). */
  readonly clientDn: string;
  readonly bad: {
    readonly expired: string;
    readonly selfSigned: string;
    readonly wrongCa: string;
    readonly wrongDn: string;
  };
}

/** CertPair names a certificate and its key on disk. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

/**
 * createPki makes, with src/pki, the rig CA (`<root>/ca`: cacert.pem, cakey.pem), one server
 * certificate per host (CN and subjectAltName = its IP, plus its hostname as a DNS name), the
 * controller's client directory and the failure fixtures under `<root>/bad`.
 */
export async function createPki(
  root: string,
  hosts: readonly { name: string; ip: string }[],
): Promise<{ pki: RigPki; servers: Map<string, CertPair> }> {
  const ca = await createCertificateAuthority({ organization: 'Kumo', commonName: 'Kumo Rig CA' });
  const caFiles = await writeCaDir(path.join(root, 'ca'), ca);
  const bad = {
    expired: path.join(root, 'bad', 'expired'),
    selfSigned: path.join(root, 'bad', 'self-signed'),
    wrongCa: path.join(root, 'bad', 'wrong-ca'),
    wrongDn: path.join(root, 'bad', 'wrong-dn'),
  };

  const [client, expired, selfSigned, otherCa, intruder, ...serverCerts] = await Promise.all([
    issueClientCertificate(ca, { subject: CONTROLLER_SUBJECT }),
    issueClientCertificate(ca, {
      subject: CONTROLLER_SUBJECT,
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-01-02T00:00:00Z'),
    }),
    // Same subject as the controller, so the only fault is that no trusted CA signed it.
    selfSignedClientCertificate({ subject: CONTROLLER_SUBJECT }),
    // A CA that did not sign the servers' certificates, trusted by an otherwise valid client.
    createCertificateAuthority({ organization: 'Elsewhere', commonName: 'Unrelated CA' }),
    issueClientCertificate(ca, {
      subject: [
        ['O', 'Kumo'],
        ['CN', 'intruder'],
      ],
    }),
    ...hosts.map((h) => issueServerCertificate(ca, { address: h.ip, altNames: [h.name] })),
  ]);
  if (new Date(new X509Certificate(expired.certPem).validTo) > new Date()) {
    throw new Error('the expired fixture should have expired');
  }

  const clientDir = path.join(root, 'client');
  await writeClientDir(clientDir, ca.certPem, client);
  await writeClientDir(bad.expired, ca.certPem, expired);
  await writeClientDir(bad.selfSigned, ca.certPem, selfSigned);
  await writeClientDir(bad.wrongCa, otherCa.certPem, client);
  await writeClientDir(bad.wrongDn, ca.certPem, intruder);

  const servers = new Map<string, CertPair>();
  for (const [i, host] of hosts.entries()) {
    const issued = serverCerts[i];
    if (!issued) throw new Error(`no server certificate for ${host.name}`);
    const files = await writeServerDir(path.join(root, 'hosts', host.name), ca.certPem, issued);
    servers.set(host.name, { cert: files.cert, key: files.key });
  }

  // src/pki renders the DN exactly as libvirtd's GnuTLS does (test/pki checks it against
  // virt-pki-query-dn), so no tool needs to run here.
  const pki = { caCert: caFiles.cert, clientDir, clientDn: client.dn, bad };
  return { pki, servers };
}
