import { parseHostAddress } from './address.ts';
import { type CertificateAuthority, type OpenedAuthority, openCertificateAuthority } from './ca.ts';
import { certificateDn, type Subject, subjectName } from './dn.ts';
import { generateKeyPair, privateKeyToPem } from './keys.ts';
import { randomSerial, type ValidityOptions, validity } from './validity.ts';
import { x509 } from './x509.ts';

/** IssuedCertificate is a leaf certificate, its private key and its DN as libvirtd compares it. */
export interface IssuedCertificate {
  readonly certPem: string;
  /** keyPem is the unencrypted PKCS#8 private key (ECDSA P-256). */
  readonly keyPem: string;
  /** dn is the subject as `virt-pki-query-dn` prints it, for tls_allowed_dn_list. */
  readonly dn: string;
}

/** IssueOptions are common to client and server certificates. */
export interface IssueOptions extends ValidityOptions {
  /** organization is the subject's O, before the CN. @default the CA's O, if it has one */
  readonly organization?: string;
  /** subject replaces the subject built from organization and the CN. */
  readonly subject?: Subject;
}

/** ClientCertificateOptions name the client. */
export interface ClientCertificateOptions extends IssueOptions {
  /** @default 'kumo-controller' */
  readonly commonName?: string;
}

/** ServerCertificateOptions name the host the certificate is for. */
export interface ServerCertificateOptions extends IssueOptions {
  /** address is how clients reach the host (the host of its URI): the CN and the first subjectAltName. */
  readonly address: string;
  /** altNames are further IP addresses or DNS names of the host. */
  readonly altNames?: readonly string[];
}

/** LEAF_VALIDITY_DAYS is a client or server certificate's lifetime unless told otherwise. */
export const LEAF_VALIDITY_DAYS = 3650;

/** DEFAULT_CLIENT_CN is the controller's common name. */
export const DEFAULT_CLIENT_CN = 'kumo-controller';

type Purpose = 'client' | 'server';

function leafSubject(opts: IssueOptions, ca: x509.X509Certificate | null, cn: string): Subject {
  if (opts.subject) return opts.subject;
  const org = opts.organization ?? ca?.subjectName.getField('O')[0];
  return org
    ? [
        ['O', org],
        ['CN', cn],
      ]
    : [['CN', cn]];
}

async function leafExtensions(
  purpose: Purpose,
  publicKey: CryptoKey,
  authorityKeyId: string | null,
): Promise<x509.Extension[]> {
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // libvirt refuses a critical keyUsage without keyEncipherment, whatever the key type.
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([
      purpose === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth,
    ]),
    ski,
    new x509.AuthorityKeyIdentifierExtension(authorityKeyId ?? ski.keyId),
  ];
}

async function issue(
  authority: OpenedAuthority,
  purpose: Purpose,
  subject: Subject,
  opts: ValidityOptions,
  extra: readonly x509.Extension[] = [],
): Promise<IssuedCertificate> {
  const dates = validity(opts, LEAF_VALIDITY_DAYS);
  // By default a certificate ends no later than its CA: nothing would accept it after that.
  if (!opts.notAfter && dates.notAfter > authority.cert.notAfter) {
    dates.notAfter = authority.cert.notAfter;
  }
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(subject),
    issuer: authority.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: authority.signer.key,
    signingAlgorithm: authority.signer.algorithm,
    ...dates,
    extensions: [...(await leafExtensions(purpose, keys.publicKey, authority.keyId)), ...extra],
  });
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem: await privateKeyToPem(keys.privateKey),
    dn: certificateDn(cert),
  };
}

/**
 * clientSubject is the subject {@link issueClientCertificate} gives a client of this CA with
 * these options, e.g. to write a host's tls_allowed_dn_list before the client exists.
 */
export function clientSubject(
  ca: CertificateAuthority,
  opts: ClientCertificateOptions = {},
): Subject {
  return leafSubject(
    opts,
    new x509.X509Certificate(ca.certPem),
    opts.commonName ?? DEFAULT_CLIENT_CN,
  );
}

/**
 * issueClientCertificate issues a TLS client certificate (extKeyUsage clientAuth, keyUsage
 * digitalSignature and keyEncipherment) with subject `O=<org>,CN=<commonName>`.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  opts: ClientCertificateOptions = {},
): Promise<IssuedCertificate> {
  const authority = await openCertificateAuthority(ca);
  const subject = leafSubject(opts, authority.cert, opts.commonName ?? DEFAULT_CLIENT_CN);
  return issue(authority, 'client', subject, opts);
}

/**
 * issueServerCertificate issues a TLS server certificate for a host (extKeyUsage serverAuth):
 * CN = its address and subjectAltName = that address, as an IP address or a DNS name, then
 * any altNames. Clients check the name they dialled against the subjectAltName.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  opts: ServerCertificateOptions,
): Promise<IssuedCertificate> {
  const names = [opts.address, ...(opts.altNames ?? [])].map(parseHostAddress);
  const main = names[0];
  if (!main) throw new Error('a server certificate needs the host address');
  const unique = [...new Map(names.map((n) => [`${n.kind}:${n.value}`, n])).values()];
  const san = new x509.SubjectAlternativeNameExtension(
    unique.map((n) => ({ type: n.kind, value: n.value })),
  );
  const authority = await openCertificateAuthority(ca);
  return issue(authority, 'server', leafSubject(opts, authority.cert, main.value), opts, [san]);
}

/**
 * selfSignedClientCertificate makes a client certificate that no CA vouches for: signed by its
 * own key, otherwise like {@link issueClientCertificate}. A test fixture: libvirtd must refuse it.
 */
export async function selfSignedClientCertificate(
  opts: ClientCertificateOptions = {},
): Promise<IssuedCertificate> {
  const subject = leafSubject(opts, null, opts.commonName ?? DEFAULT_CLIENT_CN);
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(subject),
    keys,
    ...validity(opts, LEAF_VALIDITY_DAYS),
    extensions: await leafExtensions('client', keys.publicKey, null),
  });
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem: await privateKeyToPem(keys.privateKey),
    dn: certificateDn(cert),
  };
}
