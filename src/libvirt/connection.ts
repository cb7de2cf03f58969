import type { Duplex } from 'node:stream';
import { AgentApi } from './api/agent.ts';
import { DomainApi } from './api/domains.ts';
import { EventApi } from './api/events.ts';
import { HostApi } from './api/host.ts';
import { JobApi } from './api/jobs.ts';
import { SnapshotApi } from './api/snapshots.ts';
import { StorageApi } from './api/storage.ts';
import { LibvirtError } from './errors.ts';
import { QemuProgram } from './generated/qemu-protocol.gen.ts';
import { RemoteProgram } from './generated/remote-protocol.gen.ts';
import { type Features, handshake } from './handshake.ts';
import { RpcClient } from './rpc/client.ts';
import { DEFAULT_KEEPALIVE, type KeepaliveOptions } from './rpc/keepalive.ts';
import { dial, type SshCredentials } from './transport/dial.ts';
import type { Dialed } from './transport/dialed.ts';
import type { TlsCredentials } from './transport/pki.ts';
import { type LibvirtUri, parseUri } from './uri.ts';

/** ConnectOptions tune how a connection is opened and behaves. */
export interface ConnectOptions {
  /** timeoutMs bounds connecting and the opening handshake. @default 10000 */
  readonly timeoutMs?: number;
  /** callTimeoutMs is the default per-call timeout; 0 disables. @default 60000 */
  readonly callTimeoutMs?: number;
  /** keepalive detects a dead daemon; false turns it off. @default libvirt's 5 s x 5 */
  readonly keepalive?: KeepaliveOptions | false;
  /** maxInFlight caps concurrent calls on this connection. @default 4 */
  readonly maxInFlight?: number;
  /** readOnly opens the connection read-only (VIR_CONNECT_RO). @default false */
  readonly readOnly?: boolean;
  /** tls gives the client's certificates directly instead of PKI files. */
  readonly tls?: TlsCredentials;
  /** ssh gives the client key and pinned host keys directly. */
  readonly ssh?: SshCredentials;
}

/**
 * LibvirtConnection is one open connection to a libvirt daemon: the generated procedures
 * (`remote`) plus the small typed API Kumo uses, grouped by subject.
 */
export class LibvirtConnection {
  readonly uri: LibvirtUri;
  readonly rpc: RpcClient;
  readonly remote: RemoteProgram;
  /** libVersion is the daemon's libvirt version, major * 1e6 + minor * 1e3 + micro. */
  readonly libVersion: number;
  readonly features: Features;
  readonly host: HostApi;
  readonly domains: DomainApi;
  readonly snapshots: SnapshotApi;
  readonly storage: StorageApi;
  readonly jobs: JobApi;
  readonly events: EventApi;
  /** agent speaks to guest agents through libvirt's QEMU program. */
  readonly agent: AgentApi;

  private readonly dialed: Dialed;

  private constructor(
    uri: LibvirtUri,
    dialed: Dialed,
    rpc: RpcClient,
    remote: RemoteProgram,
    libVersion: number,
    features: Features,
  ) {
    this.uri = uri;
    this.dialed = dialed;
    this.rpc = rpc;
    this.remote = remote;
    this.libVersion = libVersion;
    this.features = features;
    this.host = new HostApi(remote);
    this.domains = new DomainApi(remote);
    this.snapshots = new SnapshotApi(remote);
    this.storage = new StorageApi(remote);
    this.jobs = new JobApi(remote);
    this.events = new EventApi(remote, rpc);
    this.agent = new AgentApi(new QemuProgram(rpc));
  }

  /** open connects to the daemon a libvirt URI names and performs libvirt's opening handshake. */
  static async open(uri: string, opts: ConnectOptions = {}): Promise<LibvirtConnection> {
    const parsed = parseUri(uri);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const dialed = await dial(parsed, {
      timeoutMs,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.ssh ? { ssh: opts.ssh } : {}),
    });
    const rpc = new RpcClient(dialed.stream, {
      label: redact(parsed),
      ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
      ...(opts.callTimeoutMs !== undefined ? { callTimeoutMs: opts.callTimeoutMs } : {}),
    });
    const remote = new RemoteProgram(rpc);
    try {
      const keepalive = opts.keepalive === undefined ? DEFAULT_KEEPALIVE : opts.keepalive;
      const { libVersion, features } = await handshake(remote, rpc, {
        name: parsed.remoteName,
        readOnly: opts.readOnly ?? false,
        keepalive,
        timeoutMs,
      });
      return new LibvirtConnection(parsed, dialed, rpc, remote, libVersion, features);
    } catch (err) {
      await rpc.close();
      throw explain(err, dialed.diagnostics());
    }
  }

  /**
   * reach opens a TCP stream to a port on the daemon's host by the connection's own way there:
   * straight to its address over TLS, through the SSH session to its loopback, or locally.
   */
  reach(port: number, timeoutMs = 10_000): Promise<Duplex> {
    return this.dialed.reach(port, timeoutMs);
  }

  /** closed resolves with the reason once the connection is gone (it never rejects). */
  get closed(): Promise<LibvirtError> {
    return this.rpc.closed;
  }

  get isOpen(): boolean {
    return this.rpc.isOpen;
  }

  /** close says goodbye to the daemon (CONNECT_CLOSE) and closes the stream. */
  async close(): Promise<void> {
    if (!this.rpc.isOpen) return;
    await this.events.closeAll();
    await this.remote.connectClose({ timeoutMs: 5000 }).catch(() => undefined);
    await this.rpc.close();
  }
}

function explain(err: unknown, diagnostics: string): unknown {
  if (!(err instanceof LibvirtError) || diagnostics === '' || err.kind !== 'closed') return err;
  return new LibvirtError(err.kind, `${err.message}; ${diagnostics}`, { cause: err });
}

// Labels appear in error messages and logs: keep the host, drop query parameters (paths to keys).
function redact(uri: LibvirtUri): string {
  const user = uri.user ? `${uri.user}@` : '';
  const host = uri.host ?? '';
  const port = uri.port ? `:${uri.port}` : '';
  const t = uri.transport === 'unix' ? '' : `+${uri.transport}`;
  return `${uri.driver}${t}://${user}${host}${port}${uri.path}`;
}
