import { LibvirtError } from './errors.ts';
import type { RemoteProgram } from './generated/remote-protocol.gen.ts';
import type { RpcClient } from './rpc/client.ts';
import type { KeepaliveOptions } from './rpc/keepalive.ts';

/** Features are the optional protocol features the daemon supports that Kumo relies on. */
export interface Features {
  /** eventCallbacks: CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY and per-callback events. */
  readonly eventCallbacks: boolean;
  /** migrationParams: the v3 migration procedures that take typed parameters. */
  readonly migrationParams: boolean;
  /** changeProtection: VIR_MIGRATE_CHANGE_PROTECTION on the source. */
  readonly changeProtection: boolean;
}

// virDrvFeature values (libvirt's driver.h).
const Feature = {
  MIGRATE_CHANGE_PROTECTION: 7,
  PROGRAM_KEEPALIVE: 10,
  MIGRATION_PARAMS: 13,
  REMOTE_EVENT_CALLBACK: 14,
} as const;

// remote_auth_type
const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** HandshakeOptions are the parts of the opening sequence a caller chooses. */
export interface HandshakeOptions {
  readonly name: string;
  readonly readOnly: boolean;
  readonly keepalive: KeepaliveOptions | false;
  readonly timeoutMs: number;
}

/**
 * handshake runs what libvirt's remote driver does after the transport is up: authenticate
 * (AUTH_LIST is always called: on a polkit socket it is what authenticates a root caller),
 * opt in to keepalive, CONNECT_OPEN, then learn the version and features.
 */
export async function handshake(
  remote: RemoteProgram,
  rpc: RpcClient,
  opts: HandshakeOptions,
): Promise<{ libVersion: number; features: Features }> {
  const call = { timeoutMs: opts.timeoutMs };
  const { types } = await remote.authList(call);
  const chosen = types[0] ?? AuthType.NONE;
  if (chosen === AuthType.POLKIT) {
    await remote.authPolkit(call);
  } else if (chosen !== AuthType.NONE) {
    throw new LibvirtError(
      'auth',
      `the daemon requires SASL authentication, which Kumo does not support; use TLS client certificates or SSH`,
    );
  }
  if (opts.keepalive !== false) {
    const { supported } = await remote.connectSupportsFeature(
      { feature: Feature.PROGRAM_KEEPALIVE },
      call,
    );
    if (supported) rpc.startKeepalive(opts.keepalive);
  }
  await remote.connectOpen({ name: opts.name, flags: opts.readOnly ? 1 : 0 }, call);
  const supports = async (feature: number) =>
    (await remote.connectSupportsFeature({ feature }, call)).supported !== 0;
  const [version, eventCallbacks, migrationParams, changeProtection] = await Promise.all([
    remote.connectGetLibVersion(call),
    supports(Feature.REMOTE_EVENT_CALLBACK),
    supports(Feature.MIGRATION_PARAMS),
    supports(Feature.MIGRATE_CHANGE_PROTECTION),
  ]);
  return {
    libVersion: Number(version.libVer),
    features: { eventCallbacks, migrationParams, changeProtection },
  };
}
