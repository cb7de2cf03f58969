import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { opensslDn, sameDn } from './index.ts';
import { x509 } from './x509.ts';

const run = promisify(execFile);
const dir = await mkdtemp(path.join(tmpdir(), 'kumo-dn-openssl-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

let n = 0;
/** certWith makes a self-signed certificate with `openssl req -subj`, as endorsers do. */
async function certWith(subj: string, ...flags: string[]): Promise<string> {
  const cert = path.join(dir, `cert-${n}.pem`);
  const key = path.join(dir, `key-${n++}.pem`);
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', key, '-out', cert, '-days', '1', '-subj', subj, ...flags],
  ]);
  return cert;
}

async function opensslSays(cert: string): Promise<string> {
  const args = ['x509', '-in', cert, '-noout', '-subject', '-nameopt', 'compat'];
  const { stdout } = await run('openssl', args, { env: { LC_ALL: 'C' } });
  return stdout.replace(/^subject=/, '').replace(/\n$/, '');
}

async function subjectName(cert: string): Promise<x509.Name> {
  return new x509.X509Certificate(await readFile(cert, 'utf8')).subjectName;
}

describe('opensslDn prints what openssl x509 -subject -nameopt compat prints', () => {
  it.each([
    ['a vmcaster endorser', ['/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon']],
    ['email, UID, serialNumber', ['/C=ES/O=x/emailAddress=a@b.example/UID=u1/serialNumber=42']],
    ['slashes and pluses in values', ['/O=a\\/b/OU=x\\+y/CN=http:\\/\\/host\\/x']],
    ['a multi-valued RDN', ['/DC=org/O=Kumo+OU=images/CN=endorser', '-multivalue-rdn']],
    ['UTF-8 and spaces', ['/O=Ñandú S.A./CN= padded ', '-utf8']],
    ['characters RFC 4514 escapes', ['/CN=a, "b" <c>=;#d\\\\e']],
  ])('%s', async (_, [subj, ...flags]) => {
    const cert = await certWith(subj ?? '', ...flags);
    const name = await subjectName(cert);
    const said = await opensslSays(cert);
    expect(opensslDn(name)).toBe(said);
    expect(opensslDn(new Uint8Array(name.toArrayBuffer()))).toBe(said);
  });
});

describe('sameDn', () => {
  it.each([
    ['/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon', '/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon'],
    ['/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon', 'CN=alvarosimon,O=cesga,DC=irisgrid,DC=es'],
    ['/DC=es/O=cesga/CN=x', 'cn=x, o=cesga, dc=es'],
    ['/CN=x/emailAddress=a@b.example', 'E=a@b.example,commonName=x'],
    ['/CN=x/emailAddress=a@b.example', '1.2.840.113549.1.9.1=a@b.example,OID.2.5.4.3=x'],
    ['/O=Kumo+OU=images/CN=e', 'CN=e,OU=images+O=Kumo'],
    ['/O=a\\/b/CN=c\\+d', 'CN=c\\+d,O=a/b'],
    ['/O=a/b/CN=http://host/x', 'CN=http://host/x,O=a/b'],
    ['/O=\\xC3\\x91and\\xC3\\xBA', 'O=\\C3\\91andú'],
    ['/CN=a, "b"', 'CN=a\\, \\"b\\"'],
    ['/CN= padded ', 'CN=\\ padded\\ '],
    ['', ''],
  ])('%s is %s', (a, b) => {
    expect(sameDn(a, b)).toBe(true);
    expect(sameDn(b, a)).toBe(true);
  });

  it.each([
    ['/DC=es/O=cesga/CN=x', 'DC=es,O=cesga,CN=x'],
    ['/DC=es/O=cesga/CN=x', '/DC=es/O=cesga/CN=X'],
    ['/DC=es/O=cesga/CN=x', '/DC=es/O=cesga'],
    ['/O=Kumo+OU=images/CN=e', '/O=Kumo/OU=images/CN=e'],
    ['/CN= padded ', 'CN= padded '],
    ['/CN=x', 'no equals sign'],
    ['/CN=x', '/CN=x\\'],
  ])('%s is not %s', (a, b) => {
    expect(sameDn(a, b)).toBe(false);
    expect(sameDn(b, a)).toBe(false);
  });
});
