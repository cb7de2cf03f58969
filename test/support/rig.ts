import { inject } from 'vitest';
import { type ConnectOptions, LibvirtConnection } from '../../src/libvirt/connection.ts';
import type { Rig, RigHost } from '../rig/index.ts';

/** rig is the rig that the global setup brought up for this run. */
export function rig(): Rig {
  return inject('rig');
}

/** rigHost returns host `hvK` of the rig. */
export function rigHost(name: 'hv1' | 'hv2' | 'hv3' | 'hv4'): RigHost {
  const h = rig().hosts.find((x) => x.name === name);
  if (!h) throw new Error(`the rig has no host ${name}`);
  return h;
}

/** unixUri reaches a host's daemon socket from the root namespace through its holder's /proc root. */
export function unixUri(h: RigHost): string {
  return `qemu:///system?socket=/proc/${h.pids.holder}/root/run/libvirt/libvirt-sock`;
}

/** openTls opens a connection to a rig host over TLS with the controller's certificate. */
export function openTls(h: RigHost, opts: ConnectOptions = {}): Promise<LibvirtConnection> {
  return LibvirtConnection.open(h.tlsUri, opts);
}

/** openSsh opens a connection over SSH with the rig's key, pinning the host's key. */
export function openSsh(
  h: RigHost,
  opts: ConnectOptions = {},
  uri = h.sshUri,
): Promise<LibvirtConnection> {
  return LibvirtConnection.open(uri, { ssh: { hostKeys: [h.sshHostKeyFingerprint] }, ...opts });
}

/** openUnix opens a connection over the host's local unix socket. */
export function openUnix(h: RigHost, opts: ConnectOptions = {}): Promise<LibvirtConnection> {
  return LibvirtConnection.open(unixUri(h), opts);
}

let counter = 0;

/** uniqueName gives test objects names that cannot collide across parallel test files. */
export function uniqueName(prefix: string): string {
  counter++;
  return `kt-${prefix}-${process.pid}-${counter}`;
}
