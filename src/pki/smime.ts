import { certificatePem, issuerDnOf, pemCertificates, subjectDnOf } from './cms-certificates.ts';
import { checkChain } from './cms-chain.ts';
import { type SmimeSigningIdentity, signDetached } from './cms-sign.ts';
import { checkSignature, embeddedContent, parseSignedData } from './cms-verify.ts';
import type { pkijs } from './pkijs.ts';
import { readSmimeEnvelope, type SmimeEnvelope, writeMultipartSigned } from './smime-envelope.ts';
import { SmimeError } from './smime-error.ts';
import { canonicalText, signedContent } from './smime-text.ts';

/** SmimeTrust is what a verifier trusts: the CAs endorser certificates must chain up to. */
export interface SmimeTrust {
  /** caCertificates are PEM CA certificates; one string may hold a bundle of several. */
  readonly caCertificates: readonly string[];
}

/** SmimeSigner is the verified signer of a message, DNs in OpenSSL's slash form. */
export interface SmimeSigner {
  /** subjectDn is the endorser's DN as image lists write it: `/DC=es/O=cesga/CN=alvarosimon`. */
  readonly subjectDn: string;
  readonly issuerDn: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly certificatePem: string;
}

/** VerifiedSmime is a message whose signature, chain and validity verifySmime checked. */
export interface VerifiedSmime {
  /** content is what the signer signed, as the signer meant it: the JSON of an image list. */
  readonly content: Buffer;
  readonly signer: SmimeSigner;
  /** anchorPem is the trusted CA certificate the signer's chain leads to. */
  readonly anchorPem: string;
}

/** SignedMaterial is a message's SignedData and the byte strings its signature may cover. */
interface SignedMaterial {
  readonly signedData: pkijs.SignedData;
  readonly candidates: readonly Buffer[];
}

function signedMaterial(envelope: SmimeEnvelope): SignedMaterial {
  if (envelope.form === 'opaque') {
    const signedData = parseSignedData(envelope.signedData);
    const content = embeddedContent(signedData);
    if (!content) throw new SmimeError('MALFORMED', 'the opaque S/MIME message carries no content');
    return { signedData, candidates: [content] };
  }
  const signedData = parseSignedData(envelope.signature);
  if (embeddedContent(signedData)) {
    throw new SmimeError('MALFORMED', 'the detached signature carries content of its own');
  }
  // As sent (a -binary signature), or as openssl reads a text-mode one: line ends made CRLF,
  // which also undoes a transport that turned them into LF.
  const part = envelope.signedPart;
  const canonical = canonicalText(part);
  return { signedData, candidates: canonical.equals(part) ? [part] : [part, canonical] };
}

/**
 * verifySmime checks an S/MIME signed message as `openssl smime -sign` writes it (detached
 * multipart/signed, or opaque application/pkcs7-mime from -nodetach) and returns its content
 * and signer: the signature over the content, the signer's chain up to one of the trusted CAs,
 * and every certificate on it valid at `at`. A string message is taken as UTF-8. Text-mode
 * signatures (no -binary) cover the content with CRLF line ends: the content comes back with LF
 * ends and without the header -text adds. Refusals are {@link SmimeError}s; a trusted CA
 * certificate that does not parse is the caller's mistake, a plain Error.
 */
export async function verifySmime(
  message: Uint8Array | string,
  trust: SmimeTrust,
  at: Date,
): Promise<VerifiedSmime> {
  if (Number.isNaN(at.getTime())) throw new Error('verifySmime needs a valid date to check at');
  const trusted = trust.caCertificates.flatMap((pem, i) =>
    pemCertificates(pem, `trusted CA certificate ${i + 1}`),
  );
  const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : Buffer.from(message);
  const { signedData, candidates } = signedMaterial(readSmimeEnvelope(bytes));
  const { signed, signer } = await checkSignature(signedData, candidates);
  const anchor = await checkChain(signer, signedData, trusted, at);
  return {
    content: signedContent(signed),
    anchorPem: certificatePem(anchor),
    signer: {
      subjectDn: subjectDnOf(signer),
      issuerDn: issuerDnOf(signer),
      notBefore: signer.notBefore.value,
      notAfter: signer.notAfter.value,
      certificatePem: certificatePem(signer),
    },
  };
}

/**
 * signSmime signs `content` (UTF-8 text, such as an image list's JSON) as a detached
 * multipart/signed S/MIME message: SHA-256, signed attributes contentType, signingTime and
 * messageDigest, the signer's certificate and chain included.
 *
 * It signs in text mode, like `openssl smime -sign` without -binary and like vmcaster: the
 * signed part is the content with CRLF line ends. OpenSSL's SMIME_read_PKCS7, which
 * `openssl smime -verify` (even with -binary) and M2Crypto (vmcatcher) read with, joins a
 * detached part's lines with CRLF before digesting, so a -binary signature over LF line ends
 * fails there (OpenSSL 3.0.22). Content with no LF, or only CRLF line ends, is signed byte for
 * byte and every verifier outputs it unchanged; LF-ended content comes out of openssl with
 * CRLF ends, and out of verifySmime as it went in.
 */
export async function signSmime(
  content: Uint8Array,
  signer: SmimeSigningIdentity,
): Promise<string> {
  const signed = canonicalText(content);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(signed);
  } catch (err) {
    throw new Error('signSmime signs UTF-8 text; the content is not valid UTF-8', { cause: err });
  }
  const signature = await signDetached(signed, signer, new Date());
  return writeMultipartSigned(text, signature);
}
