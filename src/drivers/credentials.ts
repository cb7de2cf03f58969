import { createPrivateKey, X509Certificate } from 'node:crypto';
import ssh2 from 'ssh2';
import { DriverError } from './errors.ts';

/** TlsPemCredentials are a CA certificate and a client certificate with its key, as PEM text. */
export type TlsPemCredentials = {
  readonly kind: 'tls';
  /** ca is the CA that signed the host's certificate. */
  readonly ca: string;
  /** cert is the controller's client certificate, signed by a CA the host trusts. */
  readonly cert: string;
  readonly key: string;
};

/** TlsPkiCredentials name a directory on the controller laid out as libvirt's `pkipath`. */
export type TlsPkiCredentials = {
  readonly kind: 'tls-pki';
  /** path holds `cacert.pem`, `clientcert.pem` and `clientkey.pem`. */
  readonly path: string;
};

/** SshKeyCredentials log in with a private key and pin the host's key. */
export type SshKeyCredentials = {
  readonly kind: 'ssh';
  readonly user: string;
  /** privateKey is an unencrypted OpenSSH or PEM private key (the controller encrypts it at rest). */
  readonly privateKey: string;
  /**
   * hostKey is the host key fingerprint (`SHA256:<base64>`) the admin confirmed. Absent until
   * then: connecting without it fails with HOST_KEY_UNKNOWN, carrying the key the host offered.
   */
  readonly hostKey?: string;
};

/** NoCredentials are for the local unix socket, where the operating system authenticates. */
export type NoCredentials = {
  readonly kind: 'none';
};

/**
 * HostCredentials are how the controller proves itself to a host and recognizes the host. They
 * are secrets: never log them or put them in messages; describeCredentials is safe to show.
 */
export type HostCredentials =
  | TlsPemCredentials
  | TlsPkiCredentials
  | SshKeyCredentials
  | NoCredentials;

/** CredentialKind names one variant of HostCredentials. */
export type CredentialKind = HostCredentials['kind'];

/** describeCredentials says what kind of credentials these are without revealing them. */
export function describeCredentials(c: HostCredentials): string {
  switch (c.kind) {
    case 'tls':
      return 'TLS client certificate (PEM)';
    case 'tls-pki':
      return `TLS client certificate from ${c.path}`;
    case 'ssh':
      return `SSH key for ${c.user}${c.hostKey ? `, host key ${c.hostKey}` : ', host key not pinned'}`;
    case 'none':
      return 'none (local socket)';
  }
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** checkTlsPem verifies that the PEM texts parse, that the key matches and the certificate is current. */
export function checkTlsPem(c: { ca: string; cert: string; key: string }, source: string): void {
  const bad = (what: string, cause?: unknown) =>
    new DriverError('INVALID_CREDENTIALS', `${source}: ${what}`, { cause });
  let cert: X509Certificate;
  try {
    new X509Certificate(c.ca);
  } catch (err) {
    throw bad('the CA certificate is not a PEM X.509 certificate', err);
  }
  try {
    cert = new X509Certificate(c.cert);
  } catch (err) {
    throw bad('the client certificate is not a PEM X.509 certificate', err);
  }
  let matches: boolean;
  try {
    matches = cert.checkPrivateKey(createPrivateKey(c.key));
  } catch (err) {
    throw bad('the client key is not a readable, unencrypted PEM private key', err);
  }
  if (!matches) throw bad('the client key does not belong to the client certificate');
  const now = Date.now();
  if (Date.parse(cert.validTo) < now) {
    throw bad(`the client certificate expired on ${cert.validTo}; issue a new one`);
  }
  if (Date.parse(cert.validFrom) > now) {
    throw bad(`the client certificate is not valid before ${cert.validFrom}`);
  }
}

/** checkSshKey verifies the user name, that the private key parses unencrypted, and the fingerprint's form. */
export function checkSshKey(c: SshKeyCredentials, source: string): void {
  const bad = (what: string) => new DriverError('INVALID_CREDENTIALS', `${source}: ${what}`);
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(c.user)) {
    throw bad('the SSH user must be a plain user name');
  }
  const parsed = ssh2.utils.parseKey(c.privateKey);
  if (parsed instanceof Error) {
    // ssh2's messages name the problem (format, encryption), never the key's content.
    throw bad(`the SSH private key cannot be used: ${parsed.message}`);
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) throw bad('the SSH key given is a public key; give the private key');
  if (c.hostKey !== undefined && !FINGERPRINT.test(c.hostKey)) {
    throw bad('the host key fingerprint must look like SHA256:<43 base64 characters>');
  }
}
