import { loadPki, pkiFiles, type TlsCredentials } from '../libvirt/transport/pki.ts';
import { checkTlsPem, type HostCredentials } from './credentials.ts';
import type { HypervisorDriver } from './driver.ts';
import { DriverError, toDriverError } from './errors.ts';
import { createLibvirtDriver, type LibvirtTransport } from './kvm-common.ts';

/**
 * tlsTransport reaches libvirtd's TLS port with a client certificate, given as PEM text or as a
 * libvirt PKI directory on the controller; the host's certificate is always verified.
 */
export const tlsTransport: LibvirtTransport = {
  name: 'tls',
  credentialKinds: ['tls', 'tls-pki'],
  refusedParams: ['pkipath'],
  async check(_uri, credentials, where) {
    await pem(credentials, where);
  },
  async plan(uri, credentials, where) {
    return { uri: uri.raw, options: { tls: await pem(credentials, where) } };
  },
};

async function pem(c: HostCredentials, where: string): Promise<TlsCredentials> {
  let tls: TlsCredentials;
  switch (c.kind) {
    case 'tls':
      tls = { ca: c.ca, cert: c.cert, key: c.key };
      break;
    case 'tls-pki':
      try {
        tls = await loadPki(pkiFiles(c.path));
      } catch (err) {
        throw toDriverError(err, where, 'connect');
      }
      break;
    default:
      throw new DriverError('INVALID_CREDENTIALS', `${where}: TLS needs a client certificate`);
  }
  checkTlsPem(tls, where);
  return tls;
}

/** kvmTlsDriver reaches QEMU/KVM hosts at `qemu+tls://host/system`. */
export function kvmTlsDriver(): HypervisorDriver {
  return createLibvirtDriver({
    name: 'kvm-tls',
    schemes: ['qemu+tls'],
    paths: ['/system'],
    capabilities: ['kvm', 'liveMigration', 'storageUpload', 'console', 'events', 'snapshots'],
    transport: tlsTransport,
  });
}
