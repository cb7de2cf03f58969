import type { HypervisorDriver } from './driver.ts';
import { createLibvirtDriver, type LibvirtTransport } from './kvm-common.ts';

/**
 * unixTransport reaches a daemon on the controller's own machine through its unix socket
 * (`socket=` may name another path); the operating system authenticates, so no credentials.
 */
export const unixTransport: LibvirtTransport = {
  name: 'unix',
  credentialKinds: ['none'],
  refusedParams: ['pkipath', 'keyfile', 'known_hosts'],
  async check() {},
  async plan(uri) {
    return { uri: uri.raw, options: {} };
  },
};

/**
 * kvmLocalDriver reaches the QEMU/KVM daemon at `qemu:///system`. It declares no live migration:
 * its URI names no address another host could reach it at.
 */
export function kvmLocalDriver(): HypervisorDriver {
  return createLibvirtDriver({
    name: 'kvm-local',
    schemes: ['qemu', 'qemu+unix'],
    paths: ['/system'],
    capabilities: ['kvm', 'storageUpload', 'console', 'events', 'snapshots'],
    transport: unixTransport,
  });
}
