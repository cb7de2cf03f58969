import { issuerDnOf, subjectDnOf } from './cms-certificates.ts';
import { cmsEngine, pkijs } from './pkijs.ts';
import { SmimeError } from './smime-error.ts';

// pkijs's CertificateChainValidationEngine result code when a certificate on the path it
// found is outside its validity period at the check date (its basicCheck).
const OUTSIDE_VALIDITY = 8;

function sameCertificate(a: pkijs.Certificate, b: pkijs.Certificate): boolean {
  return Buffer.from(a.tbsView).equals(b.tbsView);
}

function validityProblem(cert: pkijs.Certificate, at: Date): string | null {
  if (at < cert.notBefore.value) return `is not valid before ${cert.notBefore.value.toISOString()}`;
  if (at > cert.notAfter.value) return `expired on ${cert.notAfter.value.toISOString()}`;
  return null;
}

/**
 * pathIgnoringDates follows issuers from the signer up to a trusted CA with pkijs's own issuer
 * search (key identifiers, names, signatures) but no date check, to name the certificate that
 * made the dated check fail.
 */
async function pathIgnoringDates(
  signer: pkijs.Certificate,
  certs: pkijs.Certificate[],
  trusted: pkijs.Certificate[],
): Promise<pkijs.Certificate[]> {
  const engine = new pkijs.CertificateChainValidationEngine({ trustedCerts: trusted, certs });
  const path = [signer];
  let cert = signer;
  while (!trusted.some((t) => sameCertificate(t, cert))) {
    const issuers = await engine.findIssuer(cert, engine, cmsEngine);
    const issuer = issuers.find((c) => !path.includes(c));
    if (!issuer) break;
    path.push(issuer);
    cert = issuer;
  }
  return path;
}

async function expiredError(
  signer: pkijs.Certificate,
  certs: pkijs.Certificate[],
  trusted: pkijs.Certificate[],
  at: Date,
): Promise<SmimeError> {
  const path = await pathIgnoringDates(signer, certs, trusted);
  const checked = `(checked at ${at.toISOString()})`;
  for (const [i, cert] of path.entries()) {
    const problem = validityProblem(cert, at);
    if (!problem) continue;
    const which = i === 0 ? "the signer's certificate" : "the CA certificate in the signer's chain";
    return new SmimeError(
      'CERTIFICATE_EXPIRED',
      `${which} ${subjectDnOf(cert)} ${problem} ${checked}`,
    );
  }
  return new SmimeError(
    'CERTIFICATE_EXPIRED',
    `a certificate in the chain of the signer ${subjectDnOf(signer)} is not valid ${checked}`,
  );
}

/**
 * checkChain validates the signer's certificate with pkijs at `at`: a chain through the
 * message's other certificates up to one of `trusted`, each certificate signed by the next and
 * within its validity period, CAs marked as CAs, and returns the trusted CA the chain reached.
 * UNTRUSTED when no chain reaches a trusted CA, CERTIFICATE_EXPIRED naming the certificate
 * that is not valid at `at` otherwise.
 */
export async function checkChain(
  signer: pkijs.Certificate,
  signedData: pkijs.SignedData,
  trusted: pkijs.Certificate[],
  at: Date,
): Promise<pkijs.Certificate> {
  const others = (signedData.certificates ?? []).filter(
    (c): c is pkijs.Certificate => c instanceof pkijs.Certificate && !sameCertificate(c, signer),
  );
  // The engine takes the last of `certs` as the certificate to validate.
  const certs = [...others, signer];
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: trusted,
    certs,
    checkDate: at,
  });
  const result = await engine.verify({}, cmsEngine);
  if (result.result) {
    const anchor = result.certificatePath?.find((c) => trusted.some((t) => sameCertificate(t, c)));
    if (!anchor) throw new Error('pkijs validated a chain that reaches no trusted CA');
    return anchor;
  }
  if (result.resultCode === OUTSIDE_VALIDITY) throw await expiredError(signer, certs, trusted, at);
  throw new SmimeError(
    'UNTRUSTED',
    `the signer ${subjectDnOf(signer)} (issued by ${issuerDnOf(signer)}) is not trusted: no chain leads to a trusted CA (${result.resultMessage})`,
  );
}
