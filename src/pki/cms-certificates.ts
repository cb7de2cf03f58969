import { opensslDn } from './dn.ts';
import { pkijs } from './pkijs.ts';
import { x509 } from './x509.ts';

/**
 * pemCertificates reads every certificate of a PEM text (one, or a bundle) for pkijs; `what`
 * names the text in the error when it holds none or one does not parse.
 */
export function pemCertificates(pem: string, what: string): pkijs.Certificate[] {
  let ders: ArrayBuffer[];
  try {
    ders = x509.PemConverter.decode(pem);
  } catch (err) {
    throw new Error(`${what} is not PEM: ${(err as Error).message}`, { cause: err });
  }
  if (ders.length === 0) throw new Error(`${what} holds no PEM certificate`);
  return ders.map((der) => {
    try {
      return pkijs.Certificate.fromBER(der);
    } catch (err) {
      throw new Error(`${what} holds something that is not an X.509 certificate`, { cause: err });
    }
  });
}

/** certificatePem writes a certificate as PEM (`BEGIN CERTIFICATE`), newline-terminated. */
export function certificatePem(cert: pkijs.Certificate): string {
  return `${x509.PemConverter.encode(cert.toSchema().toBER(), 'CERTIFICATE')}\n`;
}

/** subjectDnOf is a certificate's subject in OpenSSL's slash form, as image lists name endorsers. */
export function subjectDnOf(cert: pkijs.Certificate): string {
  return opensslDn(new Uint8Array(cert.subject.valueBeforeDecode));
}

/** issuerDnOf is a certificate's issuer in OpenSSL's slash form. */
export function issuerDnOf(cert: pkijs.Certificate): string {
  return opensslDn(new Uint8Array(cert.issuer.valueBeforeDecode));
}
