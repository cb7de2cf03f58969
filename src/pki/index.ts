/**
 * Kumo as the fleet's certificate authority: a CA, the controller's client certificate and
 * each host's server certificate, in libvirt's file layout, with the libvirtd.conf lines to use.
 * Made with @peculiar/x509 on Node's WebCrypto; ECDSA P-256 keys. Also S/MIME signing and
 * verification of VMcaster image lists (CMS with pkijs), and the DN forms those lists use.
 */
export { type HostAddress, parseHostAddress } from './address.ts';
export {
  CA_VALIDITY_DAYS,
  type CertificateAuthority,
  type CreateCaOptions,
  createCertificateAuthority,
  openCertificateAuthority,
} from './ca.ts';
export type { SmimeSigningIdentity } from './cms-sign.ts';
export {
  certificateDn,
  escapeDnValue,
  nameDn,
  opensslDn,
  type Subject,
  type SubjectAttribute,
  subjectDn,
} from './dn.ts';
export { sameDn } from './dn-compare.ts';
export {
  type ClientCertificateOptions,
  clientSubject,
  DEFAULT_CLIENT_CN,
  type IssuedCertificate,
  type IssueOptions,
  issueClientCertificate,
  issueServerCertificate,
  LEAF_VALIDITY_DAYS,
  type ServerCertificateOptions,
  selfSignedClientCertificate,
} from './issue.ts';
export { KEY_ALGORITHM } from './keys.ts';
export {
  CA_FILES,
  CLIENT_FILES,
  type PkiPaths,
  readCaDir,
  SERVER_FILES,
  SYSTEM_PATHS,
  type WriteOptions,
  writeCaDir,
  writeClientDir,
  writeServerDir,
} from './layout.ts';
export { confString, type LibvirtdTlsOptions, libvirtdTlsLines } from './libvirtd-conf.ts';
export {
  type SmimeSigner,
  type SmimeTrust,
  signSmime,
  type VerifiedSmime,
  verifySmime,
} from './smime.ts';
export { SmimeError, type SmimeErrorCode } from './smime-error.ts';
export type { ValidityOptions } from './validity.ts';
export { x509 } from './x509.ts';
