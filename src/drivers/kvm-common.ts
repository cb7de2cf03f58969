import { type ConnectOptions, LibvirtConnection } from '../libvirt/connection.ts';
import { type LibvirtUri, parseUri, type Transport } from '../libvirt/uri.ts';
import type { CredentialKind, HostCredentials } from './credentials.ts';
import type { ConnectTarget, DriverCapability, HostKeyProbe, HypervisorDriver } from './driver.ts';
import { DriverError, toDriverError } from './errors.ts';
import { KvmSession } from './kvm-session.ts';
import type { HypervisorSession } from './session.ts';
import { redactUri, schemeOf } from './uri.ts';

/** OpenPlan is how to open the libvirt connection: the URI to dial and the credentials to use. */
export interface OpenPlan {
  readonly uri: string;
  readonly options: Pick<ConnectOptions, 'tls' | 'ssh'>;
}

/**
 * LibvirtTransport is the one part in which the KVM drivers differ: which credentials reach a
 * host and how. `check` stays off the network (validate uses it); `plan` may touch it.
 */
export interface LibvirtTransport {
  readonly name: Transport;
  readonly credentialKinds: readonly CredentialKind[];
  /** refusedParams are URI parameters that would carry credentials outside HostCredentials. */
  readonly refusedParams: readonly string[];
  check(uri: LibvirtUri, credentials: HostCredentials, where: string): Promise<void>;
  plan(
    uri: LibvirtUri,
    credentials: HostCredentials,
    where: string,
    timeoutMs: number,
  ): Promise<OpenPlan>;
  probeHostKey?(uri: LibvirtUri, where: string, timeoutMs: number): Promise<HostKeyProbe>;
}

/** LibvirtDriverSpec describes a driver built on the libvirt client: everything but the shared work. */
export interface LibvirtDriverSpec {
  readonly name: string;
  readonly schemes: readonly string[];
  /** paths are the libvirt driver paths the driver accepts: `/system`, or a pattern of them. */
  readonly paths: readonly (string | RegExp)[];
  readonly capabilities: readonly DriverCapability[];
  readonly transport: LibvirtTransport;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * createLibvirtDriver builds a HypervisorDriver on Kumo's libvirt client. The URI checks, the
 * connection, facts and metrics are shared; the spec adds only its transport and what it declares.
 */
export function createLibvirtDriver(spec: LibvirtDriverSpec): HypervisorDriver {
  const parse = (uri: string, credentials: HostCredentials | null) => {
    const where = redactUri(uri);
    const scheme = schemeOf(uri);
    if (!spec.schemes.includes(scheme)) {
      throw new DriverError(
        'UNSUPPORTED_SCHEME',
        `${where}: the ${spec.name} driver serves ${spec.schemes.join(', ')}, not ${scheme}`,
      );
    }
    let parsed: LibvirtUri;
    try {
      parsed = parseUri(uri);
    } catch (err) {
      throw toDriverError(err, where, 'connect');
    }
    checkUri(spec, parsed, where);
    if (credentials !== null && !spec.transport.credentialKinds.includes(credentials.kind)) {
      throw new DriverError(
        'INVALID_CREDENTIALS',
        `${where}: the ${spec.name} driver takes ${spec.transport.credentialKinds.join(' or ')} credentials, not ${credentials.kind}`,
      );
    }
    return { parsed, where };
  };

  const validate = async (uri: string, credentials: HostCredentials) => {
    const { parsed, where } = parse(uri, credentials);
    await spec.transport.check(parsed, credentials, where);
    return { parsed, where };
  };

  const driver: HypervisorDriver = {
    name: spec.name,
    schemes: spec.schemes,
    capabilities: new Set(spec.capabilities),
    credentialKinds: spec.transport.credentialKinds,
    async validate(uri, credentials) {
      await validate(uri, credentials);
    },
    async connect(target: ConnectTarget): Promise<HypervisorSession> {
      const { parsed, where } = await validate(target.uri, target.credentials);
      const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const plan = await spec.transport.plan(parsed, target.credentials, where, timeoutMs);
      try {
        const conn = await LibvirtConnection.open(plan.uri, {
          ...plan.options,
          timeoutMs,
          ...(target.keepalive !== undefined ? { keepalive: target.keepalive } : {}),
        });
        return new KvmSession(spec.name, where, conn);
      } catch (err) {
        throw toDriverError(err, where, 'connect');
      }
    },
  };
  const probe = spec.transport.probeHostKey;
  if (probe) {
    driver.probeHostKey = async (uri, opts = {}) => {
      const { parsed, where } = parse(uri, null);
      return probe(parsed, where, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    };
  }
  return driver;
}

function checkUri(spec: LibvirtDriverSpec, uri: LibvirtUri, where: string): void {
  const invalid = (why: string) => new DriverError('INVALID_URI', `${where}: ${why}`);
  if (uri.transport !== spec.transport.name) {
    throw invalid(
      `the ${spec.name} driver reaches hosts over ${spec.transport.name}, not ${uri.transport}; name the transport in the scheme (${spec.schemes.join(', ')})`,
    );
  }
  if (!spec.paths.some((p) => (typeof p === 'string' ? p === uri.path : p.test(uri.path)))) {
    throw invalid(`the path must be ${spec.paths.join(' or ')}, not ${uri.path || '(empty)'}`);
  }
  const refused = spec.transport.refusedParams.filter((p) => uri.params.has(p));
  if (refused.length > 0) {
    throw invalid(
      `${refused.map((p) => `${p}=`).join(', ')} may not appear in the URI: give them as the host's credentials`,
    );
  }
}
