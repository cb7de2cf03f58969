// The one place src/pki loads @peculiar/x509: after the Reflect metadata polyfill its dependency
// injection (tsyringe) needs, and with Node's WebCrypto (OpenSSL underneath) as its provider.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(crypto);

export { x509 };
