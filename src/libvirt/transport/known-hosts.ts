import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** fingerprintOf gives a raw SSH public key's fingerprint as OpenSSH prints it: `SHA256:<base64>`. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/**
 * knownHostKeys reads an OpenSSH known_hosts file and returns the fingerprints it lists for
 * host (and port, written `[host]:port` when not 22), plain or hashed (`|1|salt|hmac`) entries.
 * Markers (@cert-authority, @revoked) are not supported and such lines are skipped.
 */
export async function knownHostKeys(file: string, host: string, port: number): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const name = port === 22 ? host : `[${host}]:${port}`;
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]?.startsWith('#') || fields[0]?.startsWith('@')) continue;
    const [hosts, , key] = fields as [string, string, string];
    if (hosts.split(',').some((h) => hostMatches(h, name))) {
      found.push(fingerprintOf(Buffer.from(key, 'base64')));
    }
  }
  return found;
}

function hostMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith('|1|')) return pattern === name;
  const [, , salt, hash] = pattern.split('|');
  if (!salt || !hash) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}
