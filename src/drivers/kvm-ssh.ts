import { probeSshHostKey } from '../libvirt/transport/ssh-probe.ts';
import type { LibvirtUri } from '../libvirt/uri.ts';
import { checkSshKey, type HostCredentials, type SshKeyCredentials } from './credentials.ts';
import type { HypervisorDriver } from './driver.ts';
import { DriverError, toDriverError } from './errors.ts';
import { createLibvirtDriver, type LibvirtTransport } from './kvm-common.ts';

const SSH_PORT = 22;

/**
 * sshTransport logs in with a private key and runs libvirt's helper on the host. The host key
 * must be pinned: without one, connecting only reports the key the host offers.
 */
export const sshTransport: LibvirtTransport = {
  name: 'ssh',
  credentialKinds: ['ssh'],
  refusedParams: ['keyfile', 'known_hosts', 'known_hosts_verify', 'sshauth', 'no_tty'],
  async check(uri, credentials, where) {
    checkUser(uri, ssh(credentials, where), where);
  },
  async plan(uri, credentials, where, timeoutMs) {
    const c = ssh(credentials, where);
    checkUser(uri, c, where);
    if (c.hostKey === undefined) {
      const offered = await probe(uri, where, timeoutMs);
      throw new DriverError(
        'HOST_KEY_UNKNOWN',
        `${where}: no host key is pinned; the host offers ${offered.algorithm} ${offered.fingerprint}. Confirm it (compare with ssh-keygen -lf on the host) and pin it`,
        { hostKey: offered.fingerprint },
      );
    }
    const url = new URL(uri.raw);
    url.username = encodeURIComponent(c.user);
    return {
      uri: url.toString(),
      options: { ssh: { privateKey: c.privateKey, hostKeys: [c.hostKey] } },
    };
  },
  probeHostKey: probe,
};

function ssh(c: HostCredentials, where: string): SshKeyCredentials {
  if (c.kind !== 'ssh') {
    throw new DriverError('INVALID_CREDENTIALS', `${where}: SSH needs a user and a private key`);
  }
  checkSshKey(c, where);
  return c;
}

function checkUser(uri: LibvirtUri, c: SshKeyCredentials, where: string): void {
  if (uri.user !== null && uri.user !== c.user) {
    throw new DriverError(
      'INVALID_CREDENTIALS',
      `${where}: the URI names user ${uri.user} but the credentials are for ${c.user}; drop the user from the URI or make them agree`,
    );
  }
}

async function probe(uri: LibvirtUri, where: string, timeoutMs: number) {
  try {
    return await probeSshHostKey({
      host: uri.host as string,
      port: uri.port ?? SSH_PORT,
      timeoutMs,
    });
  } catch (err) {
    throw toDriverError(err, where, 'connect');
  }
}

/** kvmSshDriver reaches QEMU/KVM hosts at `qemu+ssh://[user@]host/system`. */
export function kvmSshDriver(): HypervisorDriver {
  return createLibvirtDriver({
    name: 'kvm-ssh',
    schemes: ['qemu+ssh'],
    paths: ['/system'],
    capabilities: [
      'kvm',
      'liveMigration',
      'storageUpload',
      'console',
      'events',
      'snapshots',
      'hostKeyProbe',
    ],
    transport: sshTransport,
  });
}
