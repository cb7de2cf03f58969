import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  HostCredentials,
  SshKeyCredentials,
  TlsPemCredentials,
} from '../../src/drivers/credentials.ts';
import type { RigHost } from '../rig/index.ts';
import { rig } from '../support/rig.ts';

/** tlsUri is a rig host's TLS URI without credentials in it (they go in HostCredentials). */
export function tlsUri(h: RigHost): string {
  return `qemu+tls://${h.ip}/system`;
}

/** sshUri is a rig host's SSH URI without credentials in it. */
export function sshUri(h: RigHost): string {
  return `qemu+ssh://${h.ip}/system`;
}

/** pkiCredentials points at a PKI directory of the rig (the controller's, or a bad one). */
export function pkiCredentials(path = rig().pki.clientDir): HostCredentials {
  return { kind: 'tls-pki', path };
}

/** pemCredentials reads a rig PKI directory into PEM credentials, as a database would hold them. */
export function pemCredentials(dir = rig().pki.clientDir): TlsPemCredentials {
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    kind: 'tls',
    ca: read('cacert.pem'),
    cert: read('clientcert.pem'),
    key: read('clientkey.pem'),
  };
}

/** sshCredentials log in as root with the rig's key and pin the host's recorded key. */
export function sshCredentials(
  h: RigHost,
  hostKey: string | null = h.sshHostKeyFingerprint,
): SshKeyCredentials {
  return {
    kind: 'ssh',
    user: 'root',
    privateKey: readFileSync(rig().ssh.privateKey, 'utf8'),
    ...(hostKey ? { hostKey } : {}),
  };
}
