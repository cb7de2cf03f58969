import * as asn1js from 'asn1js';
import { pemCertificates } from './cms-certificates.ts';
import { privateKeyFromPem, publicKeyMatches } from './keys.ts';
import { cmsEngine, ID_DATA, ID_MESSAGE_DIGEST, pkijs } from './pkijs.ts';
import { x509 } from './x509.ts';

/** SmimeSigningIdentity is who signs: a certificate, its private key and the CAs above it. */
export interface SmimeSigningIdentity {
  readonly certificatePem: string;
  /** keyPem is the certificate's private key, PKCS#8 PEM (RSA or EC P-256). */
  readonly keyPem: string;
  /** chainPem are intermediate CA certificates sent along so verifiers can build the chain. */
  readonly chainPem?: readonly string[];
}

const ID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const ID_SIGNING_TIME = '1.2.840.113549.1.9.5';

// RFC 5652 11.3: UTCTime for 1950 to 2049, GeneralizedTime otherwise; whole seconds in DER.
function signingTimeValue(at: Date): asn1js.UTCTime {
  const valueDate = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const year = valueDate.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? new asn1js.UTCTime({ valueDate })
    : new asn1js.GeneralizedTime({ valueDate });
}

function der(value: pkijs.Attribute): Buffer {
  return Buffer.from(value.toSchema().toBER());
}

/**
 * signDetached makes a detached CMS SignedData (DER ContentInfo) over `signed` with SHA-256:
 * signed attributes contentType (data), signingTime and messageDigest, the signer identified
 * by issuer and serial number, and the signer's certificate and chain included.
 */
export async function signDetached(
  signed: Uint8Array,
  identity: SmimeSigningIdentity,
  signingTime: Date,
): Promise<Uint8Array> {
  const [cert] = pemCertificates(identity.certificatePem, 'the signer certificate');
  if (!cert) throw new Error('the signer certificate is missing');
  if (!publicKeyMatches(identity.keyPem, new x509.X509Certificate(identity.certificatePem))) {
    throw new Error('the signing key does not belong to the signer certificate');
  }
  const { key } = await privateKeyFromPem(identity.keyPem);
  const chain = (identity.chainPem ?? []).flatMap((pem, i) =>
    pemCertificates(pem, `chain certificate ${i + 1}`),
  );
  // A copy on its own ArrayBuffer, the BufferSource WebCrypto and pkijs take.
  const data = new Uint8Array(signed);
  const digest = await crypto.subtle.digest('SHA-256', data);
  const attributes = [
    new pkijs.Attribute({
      type: ID_CONTENT_TYPE,
      values: [new asn1js.ObjectIdentifier({ value: ID_DATA })],
    }),
    new pkijs.Attribute({ type: ID_SIGNING_TIME, values: [signingTimeValue(signingTime)] }),
    new pkijs.Attribute({
      type: ID_MESSAGE_DIGEST,
      values: [new asn1js.OctetString({ valueHex: digest })],
    }),
  ];
  // DER orders a SET OF by encoding. OpenSSL checks the signature over the attributes as sent,
  // but verifiers that re-encode them in DER first would otherwise see other bytes.
  attributes.sort((a, b) => Buffer.compare(der(a), der(b)));
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: ID_DATA }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: cert.issuer,
          serialNumber: cert.serialNumber,
        }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
      }),
    ],
    certificates: [cert, ...chain],
  });
  await signedData.sign(key, 0, 'SHA-256', data, cmsEngine);
  const contentInfo = new pkijs.ContentInfo({
    contentType: pkijs.ContentInfo.SIGNED_DATA,
    content: signedData.toSchema(true),
  });
  return new Uint8Array(contentInfo.toSchema().toBER());
}
