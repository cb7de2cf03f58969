// Image list endorsers for tests, made and used with the openssl CLI as VMcaster's users do:
// a CA, an endorser certificate it issues, and lists signed with `openssl smime -sign`.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  formatImageList,
  type ImageList,
} from '../../src/services/image-lists/image-list-format.ts';
import { bytes, type FileServer } from './file-server.ts';

const run = promisify(execFile);

/** TestEndorser is an endorser's CA and signing certificate, as files and PEM. */
export interface TestEndorser {
  /** dn is the signing certificate's subject, in the slash form lists write. */
  readonly dn: string;
  readonly caDn: string;
  readonly caPem: string;
  readonly caPath: string;
  readonly caKeyPath: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly dir: string;
}

/**
 * makeEndorser makes, in `dir`, an endorser certificate named after `name`, under the CA of
 * `sameCaAs` or else under a CA of its own.
 */
export async function makeEndorser(
  dir: string,
  name: string,
  sameCaAs?: TestEndorser,
): Promise<TestEndorser> {
  const dn = `/DC=org/DC=kumo-test/O=${name}/CN=${name} endorser`;
  const f = (n: string) => join(dir, `${name}.${n}`);
  const openssl = (args: string, ...more: string[]) =>
    run('openssl', [...args.split(' '), ...more]);
  const caDn = sameCaAs?.caDn ?? `/DC=org/DC=kumo-test/CN=${name} CA`;
  const caPath = sameCaAs?.caPath ?? f('ca.pem');
  const caKeyPath = sameCaAs?.caKeyPath ?? f('ca.key');
  if (!sameCaAs)
    await openssl(
      'req -x509 -newkey rsa:2048 -nodes -days 30',
      ...['-keyout', caKeyPath, '-out', caPath, '-subj', caDn],
      ...['-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
  await openssl('req -newkey rsa:2048 -nodes', '-keyout', f('key'), '-out', f('csr'), '-subj', dn);
  await writeFile(
    f('ext'),
    'keyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\n',
  );
  await openssl(
    'x509 -req -CAcreateserial -days 30',
    ...['-in', f('csr'), '-CA', caPath, '-CAkey', caKeyPath],
    ...['-extfile', f('ext'), '-out', f('pem')],
  );
  return {
    dn,
    caDn,
    caPem: await readFile(caPath, 'utf8'),
    caPath,
    caKeyPath,
    certPath: f('pem'),
    keyPath: f('key'),
    dir,
  };
}

/** signList signs a list's JSON as `openssl smime -sign` does by default (detached, text). */
export async function signList(e: TestEndorser, json: string): Promise<Buffer> {
  const input = join(e.dir, 'list.json');
  await writeFile(input, json);
  const { stdout } = await run(
    'openssl',
    ['smime', '-sign', '-signer', e.certPath, '-inkey', e.keyPath, '-in', input],
    { encoding: 'buffer' },
  );
  return stdout;
}

const DAY = 86_400_000;

/**
 * testList is a list's JSON as VMcaster writes it, served at `<base>/list`, naming `signer` as
 * its endorser and holding `images`; made a day ago, expiring in 30 days unless told.
 */
export function testList(
  base: string,
  signer: Pick<TestEndorser, 'dn' | 'caDn'>,
  images: ImageList['images'],
  about: { title: string; description: string; version: string; expiresAt?: Date },
): string {
  return formatImageList({
    identifier: 'c0ffee00-0000-4000-8000-000000000000',
    title: about.title,
    description: about.description,
    source: 'kumo-test',
    version: about.version,
    uri: `${base}/list`,
    createdAt: new Date(Date.now() - DAY),
    expiresAt: about.expiresAt ?? new Date(Date.now() + 30 * DAY),
    endorser: { dn: signer.dn, ca: signer.caDn, creator: 'Test Endorser', email: 'e@kumo.test' },
    images,
  });
}

/** listedImage serves `disk` at `path` and is its entry in a list (`sha512` of the disk unless told). */
export function listedImage(
  files: FileServer,
  e: {
    identifier: string;
    title: string;
    version: string;
    disk: Buffer;
    path: string;
    sha512?: string;
  },
): ImageList['images'][number] {
  files.route(e.path, bytes(e.disk));
  return {
    identifier: e.identifier,
    title: e.title,
    description: '',
    version: e.version,
    uri: `${files.base}${e.path}`,
    sha512: e.sha512 ?? createHash('sha512').update(e.disk).digest('hex'),
    sizeBytes: BigInt(e.disk.length),
    hypervisor: 'QEMU,KVM',
    arch: 'x86_64',
    os: 'Linux',
    osName: 'Test',
    osVersion: '1',
    comments: '',
  };
}
