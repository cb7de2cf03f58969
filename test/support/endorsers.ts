// Image list endorsers for tests, made and used with the openssl CLI as VMcaster's users do:
// a CA, an endorser certificate it issues, and lists signed with `openssl smime -sign`.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

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
