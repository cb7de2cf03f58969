import { createHash } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SSH_PORT } from './config.ts';
import { run } from './processes.ts';

/** KeyPair names an OpenSSH key pair on disk. */
export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** newEd25519Key writes an unencrypted ed25519 key pair to file and file.pub. */
export async function newEd25519Key(file: string, comment: string): Promise<KeyPair> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return { privateKey: file, publicKey: `${file}.pub` };
}

/** fingerprint is a public key's SHA-256 fingerprint as OpenSSH prints it: `SHA256:<base64, no padding>`. */
export function fingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1];
  if (!blob) throw new Error(`not an OpenSSH public key: ${publicKeyLine}`);
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}

/** knownHostsLine is a known_hosts entry for ip (without the comment of the .pub file). */
export function knownHostsLine(ip: string, publicKeyLine: string): string {
  const [type, blob] = publicKeyLine.trim().split(/\s+/);
  return `${ip} ${type} ${blob}`;
}

/**
 * checkStrictModes fails early where sshd's StrictModes would silently refuse the key: the
 * authorized_keys file and every directory above it must not be group- or world-writable
 * (so never under /tmp, sticky bit or not).
 */
export async function checkStrictModes(file: string): Promise<void> {
  for (let p = path.dirname(file); ; p = path.dirname(p)) {
    const st = await stat(p);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new Error(
        `${p} is group/world-writable or not owned by root; sshd (StrictModes) would refuse ${file}. Set KUMO_RIG_DIR elsewhere.`,
      );
    }
    if (p === path.dirname(p)) return;
  }
}

/** writeAuthorizedKeys authorizes the controller's key for root on every host. */
export async function writeAuthorizedKeys(file: string, publicKey: string): Promise<void> {
  await writeFile(file, await readFile(publicKey, 'utf8'), { mode: 0o600 });
  await chmod(file, 0o600);
  await checkStrictModes(file);
}

/** SshdOptions are the per-host values in a host's sshd_config. */
export interface SshdOptions {
  readonly ip: string;
  readonly hostKey: string;
  readonly pidFile: string;
  readonly authorizedKeys: string;
}

/**
 * sshdConfig is a complete sshd_config for one host (the system's /etc/ssh/sshd_config and its
 * drop-ins are not read): key-only root login, no PAM, bound to the host's address only.
 */
export function sshdConfig(opts: SshdOptions): string {
  return `# Written by the Kumo test rig.
ListenAddress ${opts.ip}:${SSH_PORT}
HostKey ${opts.hostKey}
PidFile ${opts.pidFile}
AuthorizedKeysFile ${opts.authorizedKeys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
UseDNS no
PrintMotd no
PrintLastLog no
# go-libvirt style clients open direct-streamlocal channels to libvirt's unix socket.
AllowStreamLocalForwarding yes
# Tests open many connections at once; the default 10:30:100 starts dropping at 10.
MaxStartups 200
MaxSessions 100
LogLevel INFO
`;
}
