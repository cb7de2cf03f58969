import { LibvirtConnection } from '../libvirt/connection.ts';
import { checkSshKey, checkTlsPem, describeCredentials } from './credentials.ts';
import { DriverError, toDriverError } from './errors.ts';
import { createLibvirtDriver } from './kvm-common.ts';
import { unixTransport } from './kvm-local.ts';
import { KvmSession } from './kvm-session.ts';
import { sshTransport } from './kvm-ssh.ts';
import { tlsTransport } from './kvm-tls.ts';

/**
 * DRIVER_KIT is what a DriverFactory receives: the shared libvirt driver base with its three
 * transports, the session class, the error type and the credential checks. A package built on
 * it is a spec of a few lines (see test/fixtures/kumo-driver-libvirt-test); one that is not can
 * still use the errors and checks. Its errors must be DriverErrors for codes to reach the API.
 */
export const DRIVER_KIT = {
  createLibvirtDriver,
  transports: { tls: tlsTransport, ssh: sshTransport, unix: unixTransport },
  KvmSession,
  LibvirtConnection,
  DriverError,
  toDriverError,
  checkTlsPem,
  checkSshKey,
  describeCredentials,
} as const;

/** DriverKit is the type of DRIVER_KIT. */
export type DriverKit = typeof DRIVER_KIT;
