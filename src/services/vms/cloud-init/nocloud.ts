// The cloud-init NoCloud seed: an ISO 9660 volume labelled `cidata` holding `meta-data` and
// `user-data`, which cloud-init (and the test guest's init) read at first boot.

import { validateHostname } from './hostname.ts';
import { writeIso } from './iso9660.ts';
import { validateSshKey } from './ssh-key.ts';
import { yamlQuote } from './yaml-scalar.ts';

export { validateHostname } from './hostname.ts';
export { validateSshKey } from './ssh-key.ts';

/** SEED_VOLUME_ID is the label NoCloud looks for. */
export const SEED_VOLUME_ID = 'cidata';

/** INSTANCE_ID_MAX_LENGTH bounds the instance id; Kumo's are a prefix and a VM id. */
export const INSTANCE_ID_MAX_LENGTH = 256;

/** NocloudSpec is what one VM's seed says. */
export interface NocloudSpec {
  /** instanceId changes when the guest must run its first-boot steps again (a clone). */
  readonly instanceId: string;
  /** hostname is one RFC 1123 label; it is lower-cased. */
  readonly hostname: string;
  /** sshKeys are OpenSSH public keys for the guest's default user. */
  readonly sshKeys: readonly string[];
  /** userData is given to the guest verbatim; null or absent writes a cloud-config instead. */
  readonly userData?: string | null;
}

/** NocloudOptions tune {@link nocloudSeed}. */
export interface NocloudOptions {
  /** clock dates the image. @default () => new Date() */
  readonly clock?: () => Date;
}

/**
 * nocloudSeed returns the seed image for spec, after checking it: the host name and every key
 * must be valid ({@link validateHostname}, {@link validateSshKey}) or it throws their Error.
 */
export function nocloudSeed(spec: NocloudSpec, opts: NocloudOptions = {}): Buffer {
  const checked = checkSpec(spec);
  return writeIso({
    volumeId: SEED_VOLUME_ID,
    clock: opts.clock,
    files: [
      { name: 'meta-data', data: Buffer.from(metaData(checked), 'utf8') },
      { name: 'user-data', data: Buffer.from(userData(checked), 'utf8') },
    ],
  });
}

/**
 * nocloudMetaData is the `meta-data` file: YAML with one double-quoted scalar per line, a shape
 * both cloud-init and the test guest's line reader understand.
 */
export function nocloudMetaData(spec: NocloudSpec): string {
  return metaData(checkSpec(spec));
}

/**
 * nocloudUserData is the `user-data` file: spec.userData verbatim when given; else a cloud-config
 * that authorizes spec.sshKeys, or an empty cloud-config.
 */
export function nocloudUserData(spec: NocloudSpec): string {
  return userData(checkSpec(spec));
}

function checkSpec(spec: NocloudSpec): NocloudSpec {
  if (spec.instanceId.length === 0) throw new Error('instance id is empty');
  if (spec.instanceId.length > INSTANCE_ID_MAX_LENGTH) {
    throw new Error(`instance id is longer than ${INSTANCE_ID_MAX_LENGTH} characters`);
  }
  return {
    instanceId: spec.instanceId,
    hostname: validateHostname(spec.hostname),
    sshKeys: spec.sshKeys.map(validateSshKey),
    userData: spec.userData ?? null,
  };
}

const list = (values: readonly string[]): string =>
  values.map((v) => `  - ${yamlQuote(v)}\n`).join('');

function metaData(spec: NocloudSpec): string {
  let text = `instance-id: ${yamlQuote(spec.instanceId)}\n`;
  text += `local-hostname: ${yamlQuote(spec.hostname)}\n`;
  if (spec.sshKeys.length > 0) text += `public-keys:\n${list(spec.sshKeys)}`;
  return text;
}

function userData(spec: NocloudSpec): string {
  if (spec.userData != null) return spec.userData;
  if (spec.sshKeys.length === 0) return '#cloud-config\n{}\n';
  return `#cloud-config\nssh_authorized_keys:\n${list(spec.sshKeys)}`;
}
