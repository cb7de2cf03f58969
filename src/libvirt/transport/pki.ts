import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { TransportError } from './failure.ts';

/** TlsCredentials are the PEM texts a TLS client presents and trusts. */
export interface TlsCredentials {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** PkiFiles names where libvirt keeps a client's CA, certificate and key. */
export interface PkiFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/**
 * pkiFiles follows libvirt's layout: with `pkipath` all three files sit in that directory;
 * otherwise root uses /etc/pki and other users ~/.pki/libvirt.
 */
export function pkiFiles(pkiPath: string | undefined): PkiFiles {
  if (pkiPath) {
    return {
      ca: join(pkiPath, 'cacert.pem'),
      cert: join(pkiPath, 'clientcert.pem'),
      key: join(pkiPath, 'clientkey.pem'),
    };
  }
  if (userInfo().uid === 0) {
    return {
      ca: '/etc/pki/CA/cacert.pem',
      cert: '/etc/pki/libvirt/clientcert.pem',
      key: '/etc/pki/libvirt/private/clientkey.pem',
    };
  }
  const dir = join(homedir(), '.pki', 'libvirt');
  return {
    ca: join(dir, 'cacert.pem'),
    cert: join(dir, 'clientcert.pem'),
    key: join(dir, 'clientkey.pem'),
  };
}

/** loadPki reads the three PEM files, naming the one that is missing. */
export async function loadPki(files: PkiFiles): Promise<TlsCredentials> {
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new TransportError(
        'tls',
        'credentials',
        `cannot read the ${what} at ${path} (${code})`,
        {
          cause: err,
        },
      );
    }
  };
  // Read together, but a failure is named in the files' order, not in the order reads fail.
  const settled = await Promise.allSettled([
    read('CA certificate', files.ca),
    read('client certificate', files.cert),
    read('client key', files.key),
  ]);
  const [ca, cert, key] = settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  }) as [string, string, string];
  return { ca, cert, key };
}
