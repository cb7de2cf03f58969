import * as asn1js from 'asn1js';
import { cmsEngine, ID_DATA, ID_MESSAGE_DIGEST, pkijs } from './pkijs.ts';
import { SmimeError } from './smime-error.ts';

/**
 * parseSignedData reads a DER/BER ContentInfo holding a CMS (PKCS#7) SignedData with one signer
 * over `data` content, as S/MIME signs it; MALFORMED otherwise.
 */
export function parseSignedData(der: Uint8Array): pkijs.SignedData {
  let signedData: pkijs.SignedData;
  try {
    const info = pkijs.ContentInfo.fromBER(new Uint8Array(der));
    if (info.contentType !== pkijs.ContentInfo.SIGNED_DATA) {
      throw new SmimeError('MALFORMED', `the PKCS#7 data is ${info.contentType}, not signed data`);
    }
    signedData = new pkijs.SignedData({ schema: info.content });
  } catch (err) {
    if (err instanceof SmimeError) throw err;
    throw new SmimeError('MALFORMED', 'the signature is not readable PKCS#7 signed data', {
      cause: err,
    });
  }
  if (signedData.signerInfos.length !== 1) {
    throw new SmimeError(
      'MALFORMED',
      `the signature has ${signedData.signerInfos.length} signers; a signed list has one`,
    );
  }
  if (signedData.encapContentInfo.eContentType !== ID_DATA) {
    throw new SmimeError(
      'MALFORMED',
      `the signature covers ${signedData.encapContentInfo.eContentType} content, not data`,
    );
  }
  return signedData;
}

/** embeddedContent is the content an opaque (`-nodetach`) SignedData carries, or null. */
export function embeddedContent(signedData: pkijs.SignedData): Buffer | null {
  const content = signedData.encapContentInfo.eContent;
  return content ? Buffer.from(content.getValue()) : null;
}

function signedDigest(signedData: pkijs.SignedData): Uint8Array | null {
  const attribute = signedData.signerInfos[0]?.signedAttrs?.attributes.find(
    (a) => a.type === ID_MESSAGE_DIGEST,
  );
  const value: unknown = attribute?.values[0];
  return value instanceof asn1js.OctetString ? value.valueBlock.valueHexView : null;
}

// With signed attributes the content is bound through messageDigest, so the candidate whose
// digest matches is the one signed; without them, only the signature check can tell.
async function matchingCandidates(
  signedData: pkijs.SignedData,
  candidates: readonly Buffer[],
): Promise<readonly Buffer[]> {
  const expected = signedDigest(signedData);
  if (!expected) return candidates;
  const oid = signedData.signerInfos[0]?.digestAlgorithm.algorithmId ?? '';
  const algorithm = cmsEngine.getAlgorithmByOID(oid);
  if (!('name' in algorithm)) {
    throw new SmimeError('MALFORMED', `the signature uses an unsupported digest algorithm ${oid}`);
  }
  const matching: Buffer[] = [];
  for (const candidate of candidates) {
    const digest = await cmsEngine.digest(algorithm, new Uint8Array(candidate));
    if (Buffer.from(digest).equals(expected)) matching.push(candidate);
  }
  return matching;
}

/** SignatureCheck is a verified signature: the bytes it covers and the signer's certificate. */
export interface SignatureCheck {
  readonly signed: Buffer;
  readonly signer: pkijs.Certificate;
}

/**
 * checkSignature verifies the one signature of `signedData` over the first of `candidates` it
 * covers (the ways the content may have been signed; the embedded content for an opaque
 * message). BAD_SIGNATURE when the content or the signature was altered; UNTRUSTED when the
 * signer's certificate is not in the message.
 */
export async function checkSignature(
  signedData: pkijs.SignedData,
  candidates: readonly Buffer[],
): Promise<SignatureCheck> {
  const matching = await matchingCandidates(signedData, candidates);
  if (matching.length === 0) {
    throw new SmimeError(
      'BAD_SIGNATURE',
      'the signed content was altered: its digest differs from the one the signer signed',
    );
  }
  for (const signed of matching) {
    let result: pkijs.SignedDataVerifyResult;
    try {
      const data = new Uint8Array(signed).buffer;
      result = await signedData.verify({ signer: 0, data, extendedMode: true }, cmsEngine);
    } catch (err) {
      throw verifyError(err);
    }
    if (result.signatureVerified && result.signerCertificate) {
      return { signed, signer: result.signerCertificate };
    }
  }
  throw new SmimeError(
    'BAD_SIGNATURE',
    "the signature does not verify with the signer's certificate: the signature was altered",
  );
}

// pkijs's SignedDataVerifyError codes (SignedData.verify): 2 and 3 when the signer's
// certificate is missing, 7 to 10 for unsupported or missing parts, 15 when checking failed.
function verifyError(err: unknown): SmimeError {
  if (!(err instanceof pkijs.SignedDataVerifyError)) {
    return new SmimeError('MALFORMED', `the signature cannot be checked: ${String(err)}`, {
      cause: err,
    });
  }
  if (err.code === 2 || err.code === 3) {
    return new SmimeError(
      'UNTRUSTED',
      "the message does not include the signer's certificate, so the signer cannot be identified",
      { cause: err },
    );
  }
  const code = err.code === 15 ? 'BAD_SIGNATURE' : 'MALFORMED';
  return new SmimeError(code, `the signature cannot be verified: ${err.message}`, { cause: err });
}
