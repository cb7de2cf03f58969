import path from 'node:path';

/** RigConfig is what the environment decides about a rig before it exists. */
export interface RigConfig {
  /**
   * dir holds the state file, keys, certificates and each host's private directories.
   * @default '/var/lib/kumo-rig' (env KUMO_RIG_DIR)
   */
  readonly dir: string;
  /**
   * subnet is the first three octets of the rig's /24.
   * @default '10.213.0' (env KUMO_RIG_SUBNET)
   */
  readonly subnet: string;
  /** bridge is the root-namespace bridge every host's veth joins. */
  readonly bridge: string;
}

/** TLS_PORT is libvirtd's default TLS port. */
export const TLS_PORT = 16514;
/** SSH_PORT is where each host's sshd listens. */
export const SSH_PORT = 22;
/** MAX_HOSTS keeps host addresses (.11 up) below the unreachable address (.250). */
export const MAX_HOSTS = 200;

// A host's mount namespace hides these paths behind its own copies, so anything the root
// namespace and the host must both see (pid files, keys, the state file) must live elsewhere.
const SHADOWED = [
  '/run',
  '/var/run',
  '/etc/libvirt',
  '/var/lib/libvirt',
  '/var/log/libvirt',
  '/var/cache/libvirt',
];

/** readConfig reads the rig's settings from the environment and checks them. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): RigConfig {
  const dir = path.resolve(env.KUMO_RIG_DIR ?? '/var/lib/kumo-rig');
  for (const hidden of SHADOWED) {
    if (dir === hidden || dir.startsWith(`${hidden}/`)) {
      throw new Error(
        `KUMO_RIG_DIR=${dir} lies under ${hidden}, which each host hides behind its own copy; choose another directory`,
      );
    }
  }
  const subnet = env.KUMO_RIG_SUBNET ?? '10.213.0';
  const octets = subnet.split('.');
  if (octets.length !== 3 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) {
    throw new Error(`KUMO_RIG_SUBNET=${subnet} must be three octets of a /24, e.g. 10.213.0`);
  }
  return { dir, subnet, bridge: 'kumobr0' };
}

/** hostName is the name of host k (1-based): netns `kumo-<name>`, hostname `<name>`. */
export function hostName(k: number): string {
  return `hv${k}`;
}

/** hostIp is host k's address: .11 for hv1 and so on. */
export function hostIp(subnet: string, k: number): string {
  return `${subnet}.${10 + k}`;
}

/** gatewayIp is the bridge's address in the root namespace, where the controller runs. */
export function gatewayIp(subnet: string): string {
  return `${subnet}.1`;
}

/** unreachableIp is an address in the subnet that no host ever takes. */
export function unreachableIp(subnet: string): string {
  return `${subnet}.250`;
}

/** netnsName is the network namespace of a host. */
export function netnsName(host: string): string {
  return `kumo-${host}`;
}
