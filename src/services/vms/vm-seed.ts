import type { VmId } from '../../entities/ids.ts';
import { ServiceError } from '../errors.ts';
import { nocloudSeed, validateSshKey } from './cloud-init/nocloud.ts';

/** SeedInput is what a user gives a VM's guest at creation. */
export interface SeedInput {
  /** sshKeys are OpenSSH public keys for the guest's default user. */
  readonly sshKeys?: readonly string[];
  /** userData is cloud-init user data, given to the guest verbatim. */
  readonly userData?: string | null;
}

/** Seed is a checked SeedInput with the guest's host name. */
export interface Seed {
  readonly hostname: string;
  readonly sshKeys: readonly string[];
  readonly userData: string | null;
}

const MAX_KEYS = 32;
const MAX_USER_DATA = 64 * 1024;

/** checkSeed validates the seed input; null when there is nothing to give the guest. */
export function checkSeed(input: SeedInput, vmName: string): Seed | null {
  const keys = input.sshKeys ?? [];
  const userData = input.userData ?? null;
  if (keys.length === 0 && userData === null) return null;
  if (keys.length > MAX_KEYS)
    throw new ServiceError('INVALID', `at most ${MAX_KEYS} SSH keys`, 'input.sshKeys');
  const sshKeys = keys.map((k, i) => {
    try {
      return validateSshKey(k);
    } catch (err) {
      throw new ServiceError('INVALID', (err as Error).message, `input.sshKeys.${i}`);
    }
  });
  if (userData !== null && Buffer.byteLength(userData) > MAX_USER_DATA)
    throw new ServiceError(
      'INVALID',
      `user data is at most ${MAX_USER_DATA} bytes`,
      'input.userData',
    );
  return { hostname: hostnameOf(vmName), sshKeys, userData };
}

/** seedImage is the NoCloud seed (an ISO 9660 image labelled cidata) for the VM. */
export function seedImage(id: VmId, seed: Seed): Buffer {
  return nocloudSeed({
    instanceId: `i-${id}`,
    hostname: seed.hostname,
    sshKeys: seed.sshKeys,
    userData: seed.userData,
  });
}

// A VM name may be any text; the guest's host name is an RFC 1123 label made from it.
function hostnameOf(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'vm';
}
