import type { KeepaliveOptions } from '../libvirt/rpc/keepalive.ts';
import type { CredentialKind, HostCredentials } from './credentials.ts';
import type { DriverKit } from './kit.ts';
import type { HypervisorSession } from './session.ts';

/**
 * DriverCapability is something a driver's hosts can do, declared so that services and the
 * scheduler ask the driver rather than guess from its name:
 * - `kvm`: runs QEMU/KVM guests (a test or simulator driver does not);
 * - `liveMigration`: the host can be a live-migration source or destination (its URI names a
 *   network address that the other host can reach);
 * - `storageUpload`: volumes can be uploaded and downloaded through libvirt streams;
 * - `console`: serial consoles can be streamed;
 * - `events`: the daemon pushes domain events;
 * - `snapshots`: domain snapshots;
 * - `hostKeyProbe`: the host's key can be fetched for the admin to confirm before it is pinned.
 */
export type DriverCapability =
  | 'kvm'
  | 'liveMigration'
  | 'storageUpload'
  | 'console'
  | 'events'
  | 'snapshots'
  | 'hostKeyProbe';

/** ConnectTarget is what a driver needs to open a session to one host. */
export interface ConnectTarget {
  readonly uri: string;
  readonly credentials: HostCredentials;
  /** timeoutMs bounds connecting and the opening handshake. @default 10000 */
  readonly timeoutMs?: number;
  /** keepalive decides how fast a hung host is detected; false turns it off. @default 5 s x 5 */
  readonly keepalive?: KeepaliveOptions | false;
}

/** HostKeyProbe is the SSH host key a host offered, to be confirmed by an admin. */
export interface HostKeyProbe {
  /** fingerprint is `SHA256:<base64>`, the value to pin in SshKeyCredentials.hostKey. */
  readonly fingerprint: string;
  /** algorithm is the key type, e.g. `ssh-ed25519`. */
  readonly algorithm: string;
}

/**
 * HypervisorDriver reaches one kind of host. Drivers are stateless and take no database handle:
 * everything they need comes in the URI and credentials, and sessions hold the connections.
 * Every failure is a DriverError with a stable code.
 */
export interface HypervisorDriver {
  /** name identifies the driver (`kvm-tls`). */
  readonly name: string;
  /** schemes are the URI schemes the driver serves (`qemu+tls`); the registry keys on them. */
  readonly schemes: readonly string[];
  readonly capabilities: ReadonlySet<DriverCapability>;
  /** credentialKinds are the kinds of HostCredentials the driver accepts. */
  readonly credentialKinds: readonly CredentialKind[];
  /** validate checks a URI and credentials without touching the network, for early clear errors. */
  validate(uri: string, credentials: HostCredentials): Promise<void>;
  connect(target: ConnectTarget): Promise<HypervisorSession>;
  /** probeHostKey returns the SSH host key the host offers (drivers with `hostKeyProbe`). */
  probeHostKey?(uri: string, opts?: { timeoutMs?: number }): Promise<HostKeyProbe>;
}

/**
 * DriverFactory is what a driver package exports (as `createDriver` or its default export). It
 * receives the kit, so a package needs nothing of Kumo's at run time beyond what it is given.
 */
export type DriverFactory = (kit: DriverKit) => HypervisorDriver | readonly HypervisorDriver[];
