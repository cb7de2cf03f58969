// The one place src/pki loads pkijs (CMS), with the engine every call here is handed: Node's
// WebCrypto, so that nothing depends on the global engine pkijs picks when it loads.
import * as pkijs from 'pkijs';

/** cmsEngine is pkijs's crypto engine on Node's WebCrypto (OpenSSL underneath). */
export const cmsEngine = new pkijs.CryptoEngine({ name: 'node', crypto: globalThis.crypto });

export { pkijs };

/** CMS object identifiers (RFC 5652) used by both signing and verifying. */
export const ID_DATA = '1.2.840.113549.1.7.1';
export const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
