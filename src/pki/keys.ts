import { createPrivateKey, createPublicKey } from 'node:crypto';
import { x509 } from './x509.ts';

/**
 * KEY_ALGORITHM is the algorithm of every key Kumo generates: ECDSA on P-256. GnuTLS 3.7
 * (libvirt 9.0 on Debian 12) and Node's OpenSSL both accept it for TLS client and server
 * certificates, and a key takes under a millisecond to generate where RSA-2048 takes tens.
 */
export const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** generateKeyPair makes a fresh extractable key pair with {@link KEY_ALGORITHM}. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** privateKeyToPem exports a private key as unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`). */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

// WebCrypto names for the curves OpenSSL reports by their own names.
const CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** SigningKey is a private key ready for signing, with the parameters WebCrypto signs with. */
export interface SigningKey {
  readonly key: CryptoKey;
  readonly algorithm: EcdsaParams | RsaHashedImportParams;
}

/**
 * privateKeyFromPem imports a PEM private key (PKCS#8, or the traditional SEC1/PKCS#1 forms
 * openssl writes) for signing. EC keys on P-256/P-384/P-521 and RSA keys are accepted, so a CA
 * made elsewhere can sign too; anything else is refused with the key type in the message.
 */
export async function privateKeyFromPem(pem: string): Promise<SigningKey> {
  let object: ReturnType<typeof createPrivateKey>;
  try {
    object = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`not a PEM private key: ${(err as Error).message}`, { cause: err });
  }
  // Re-exported as PKCS#8 so that WebCrypto takes the traditional encodings too.
  const der = object.export({ format: 'der', type: 'pkcs8' });
  if (object.asymmetricKeyType === 'ec') {
    const curve = CURVES[object.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) {
      throw new Error(`EC key on curve ${object.asymmetricKeyDetails?.namedCurve} is unsupported`);
    }
    const params = { name: 'ECDSA', namedCurve: curve };
    const key = await crypto.subtle.importKey('pkcs8', der, params, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash: curve === 'P-256' ? 'SHA-256' : 'SHA-384' } };
  }
  if (object.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new Error(`${object.asymmetricKeyType} keys are unsupported (use EC or RSA)`);
}

/** publicKeyMatches says whether a private key PEM belongs to the certificate's public key. */
export function publicKeyMatches(privateKeyPem: string, cert: x509.X509Certificate): boolean {
  const fromKey = createPublicKey(privateKeyPem).export({ format: 'der', type: 'spki' });
  return Buffer.from(cert.publicKey.rawData).equals(fromKey);
}
