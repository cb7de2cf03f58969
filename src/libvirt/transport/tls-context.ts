import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { TlsCredentials } from './pki.ts';

// One context per set of credentials, shared by every connection that uses it: a context holds
// the parsed CA, certificate and key (OpenSSL's SSL_CTX, tens of KiB each), and a controller
// usually reaches thousands of hosts with one client certificate. Unused ones are collected.
const contexts = new Map<string, WeakRef<SecureContext>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (contexts.get(key)?.deref() === undefined) contexts.delete(key);
});

/** secureContextFor returns the TLS context for these credentials, made once while in use. */
export function secureContextFor(credentials: TlsCredentials): SecureContext {
  const key = createHash('sha256')
    .update(credentials.ca)
    .update('\0')
    .update(credentials.cert)
    .update('\0')
    .update(credentials.key)
    .digest('hex');
  const cached = contexts.get(key)?.deref();
  if (cached) return cached;
  const context = createSecureContext({
    ca: credentials.ca,
    cert: credentials.cert,
    key: credentials.key,
  });
  contexts.set(key, new WeakRef(context));
  forget.register(context, key);
  return context;
}
