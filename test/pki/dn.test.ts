import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  certificateDn,
  escapeDnValue,
  type Subject,
  selfSignedClientCertificate,
  subjectDn,
} from '../../src/pki/index.ts';
import { generateKeyPair } from '../../src/pki/keys.ts';
import { x509 } from '../../src/pki/x509.ts';

// libvirt-clients (installed with the rig's packages) ships the tool libvirt's docs point to
// for writing tls_allowed_dn_list; it prints gnutls_x509_crt_get_dn, what libvirtd compares.
const QUERY_DN = '/usr/bin/virt-pki-query-dn';
const run = promisify(execFile);
const dir = await mkdtemp(path.join(tmpdir(), 'kumo-dn-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function libvirtSays(certPem: string): Promise<string> {
  const file = path.join(dir, `cert-${n++}.pem`);
  await writeFile(file, certPem);
  const { stdout } = await run(QUERY_DN, [file]);
  return stdout.replace(/\n$/, '');
}

async function certWithName(name: x509.Name): Promise<string> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys: await generateKeyPair(),
  });
  return cert.toString('pem');
}

const SUBJECTS: readonly [string, Subject][] = [
  [
    'the controller',
    [
      ['O', 'Kumo'],
      ['CN', 'kumo-controller'],
    ],
  ],
  [
    'the lecture note order',
    [
      ['C', 'JP'],
      ['ST', 'Tokyo'],
      ['O', 'The University of Tokyo'],
      ['CN', 'myclontroller'],
    ],
  ],
  [
    'CN first, then O (order is kept, not sorted)',
    [
      ['CN', 'x'],
      ['O', 'y'],
      ['OU', 'z'],
      ['L', 'w'],
    ],
  ],
  ['an IP address as CN', [['CN', '10.213.0.11']]],
  ['RFC 4514 specials', [['CN', 'a,b+c"d\\e<f>g;h=i']]],
  ['a leading #', [['O', '#hash']]],
  ['leading and trailing spaces', [['CN', ' padded ']]],
  ['a single space', [['CN', ' ']]],
  [
    'UTF-8',
    [
      ['O', '東京大学'],
      ['CN', 'Zürich ü'],
    ],
  ],
  ['glob characters', [['CN', 'star*and?mark[x]']]],
  ['printable-string punctuation', [['CN', "it's (a) +test: =?/"]]],
];

describe.skipIf(!existsSync(QUERY_DN))('certificate DNs as libvirt prints them', () => {
  it.each(SUBJECTS)('%s', async (_what, subject) => {
    const cert = await selfSignedClientCertificate({ subject });
    const expected = await libvirtSays(cert.certPem);
    expect(cert.dn).toBe(expected);
    expect(certificateDn(cert.certPem)).toBe(expected);
    expect(subjectDn(subject)).toBe(expected);
  });

  // Names Kumo does not write, to show the parser follows GnuTLS beyond Kumo's own subjects.
  it.each([
    ['EMAIL and DC (IA5String)', [{ E: [{ ia5String: 'a@b.c' }] }, { DC: [{ ia5String: 'org' }] }]],
    [
      'UID, title, serialNumber',
      [{ '0.9.2342.19200300.100.1.1': ['u1'] }, { T: ['Dr'] }, { '2.5.4.5': ['123'] }],
    ],
    ['a multi-valued RDN', [{ O: ['Kumo'] }, { CN: ['a'], OU: ['b'] }]],
    ['an unknown attribute type', [{ '1.2.3.4.5': [{ utf8String: 'x' }] }, { CN: ['y'] }]],
    ['a BMPString', [{ CN: [{ bmpString: 'bmp ü' }] }]],
    ['a UniversalString', [{ CN: [{ universalString: 'uni' }] }]],
    ['C as UTF8String (GnuTLS wants PrintableString)', [{ C: [{ utf8String: 'JP' }] }]],
    ['a hex value', [{ CN: ['#0c0161'] }]],
  ] as const)('%s', async (_what, json) => {
    const pem = await certWithName(new x509.Name(json as unknown as x509.JsonNameParams));
    expect(certificateDn(pem)).toBe(await libvirtSays(pem));
  });
});

describe('escapeDnValue', () => {
  it('escapes as GnuTLS does, and only that', () => {
    expect(escapeDnValue('plain value')).toBe('plain value');
    expect(escapeDnValue(',+"\\<>;')).toBe('\\,\\+\\"\\\\\\<\\>\\;');
    expect(escapeDnValue('#a#')).toBe('\\#a#');
    expect(escapeDnValue(' a ')).toBe('\\ a\\ ');
    expect(escapeDnValue('a=b*c')).toBe('a=b*c');
  });
});
