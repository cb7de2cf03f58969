import { type Subject, subjectName } from './dn.ts';
import {
  generateKeyPair,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyMatches,
  type SigningKey,
} from './keys.ts';
import { randomSerial, type ValidityOptions, validity } from './validity.ts';
import { x509 } from './x509.ts';

/** CertificateAuthority is a CA as Kumo keeps it: its certificate and its private key, both PEM. */
export interface CertificateAuthority {
  readonly certPem: string;
  /** keyPem is the unencrypted PKCS#8 private key; whoever holds it can admit any client. */
  readonly keyPem: string;
}

/** CreateCaOptions shape the CA's subject and lifetime. */
export interface CreateCaOptions extends ValidityOptions {
  /** @default 'Kumo CA' */
  readonly commonName?: string;
  /** organization is the CA's O, and the default O of every certificate it issues. @default 'Kumo' */
  readonly organization?: string;
  /** subject replaces commonName and organization with a full subject (e.g. C, ST, O, CN). */
  readonly subject?: Subject;
}

/** CA_VALIDITY_DAYS is a new CA's lifetime unless told otherwise: ten years. */
export const CA_VALIDITY_DAYS = 3650;

/**
 * createCertificateAuthority makes a self-signed CA: basicConstraints CA:TRUE (critical),
 * keyUsage keyCertSign and cRLSign (critical), subject and authority key identifiers.
 */
export async function createCertificateAuthority(
  opts: CreateCaOptions = {},
): Promise<CertificateAuthority> {
  const subject = opts.subject ?? [
    ['O', opts.organization ?? 'Kumo'],
    ['CN', opts.commonName ?? 'Kumo CA'],
  ];
  const keys = await generateKeyPair();
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(subject),
    keys,
    ...validity(opts, CA_VALIDITY_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      ski,
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await privateKeyToPem(keys.privateKey) };
}

/** OpenedAuthority is a CA checked and ready to sign. */
export interface OpenedAuthority {
  readonly cert: x509.X509Certificate;
  readonly signer: SigningKey;
  /** keyId is the CA's subject key identifier, the authority key identifier of what it signs. */
  readonly keyId: string;
}

/**
 * openCertificateAuthority parses a CA and checks that it can sign: a CA certificate whose
 * private key is the one given. Errors say which of the two is wrong.
 */
export async function openCertificateAuthority(ca: CertificateAuthority): Promise<OpenedAuthority> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(ca.certPem);
  } catch (err) {
    throw new Error(`the CA certificate is not a PEM certificate: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) {
    throw new Error(`the certificate of ${cert.subject} is not a CA (basicConstraints CA:TRUE)`);
  }
  const signer = await privateKeyFromPem(ca.keyPem);
  if (!publicKeyMatches(ca.keyPem, cert)) {
    throw new Error(`the CA key does not belong to the CA certificate of ${cert.subject}`);
  }
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
  return { cert, signer, keyId };
}
