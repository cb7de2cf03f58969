import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './processes.ts';

/** CONTROLLER_SUBJECT is the controller client certificate's subject, openssl -subj style. */
export const CONTROLLER_SUBJECT = '/O=Kumo/CN=kumo-controller';

/** RigPki is where `createPki` put everything; directories are libvirt pkipath style. */
export interface RigPki {
  readonly caCert: string;
  /** clientDir holds cacert.pem, clientcert.pem and clientkey.pem for the controller. */
  readonly clientDir: string;
  /** clientDn is the controller certificate's DN as libvirtd compares it (tls_allowed_dn_list). */
  readonly clientDn: string;
  readonly bad: {
    readonly expired: string;
    readonly selfSigned: string;
    readonly wrongCa: string;
    readonly wrongDn: string;
  };
}

/** CertPair names a certificate and its key on disk. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

// libvirt checks key usage: a client certificate must allow signing and key encipherment.
const CLIENT_EXT = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
`;

// A minimal `openssl ca` setup: rand_serial avoids a serial file, unique_subject=no lets the
// fixtures reuse the controller's subject, preserve=yes keeps subjects in the order given.
const CA_CONFIG = `[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
[ ca ]
default_ca = rig_ca
[ rig_ca ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/issued
rand_serial = yes
default_md = sha256
policy = any_policy
unique_subject = no
copy_extensions = none
preserve = yes
email_in_dn = no
[ any_policy ]
organizationName = optional
commonName = supplied
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ client_ext ]
${CLIENT_EXT}`;

/** CertAuthority is a CA directory that can sign CSRs. */
interface CertAuthority {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  readonly config: string;
}

/** openssl runs `openssl <command> <flags...> -<option> <value>...`, options in the order given. */
function openssl(command: string, flags: readonly string[], options: Record<string, string>) {
  const args = Object.entries(options).flatMap(([name, value]) => [`-${name}`, value]);
  return run('openssl', [command, ...flags, ...args]);
}

async function newKey(file: string): Promise<void> {
  // EC keys: generation takes milliseconds, where RSA would dominate the rig's start-up.
  await openssl('genpkey', [], {
    algorithm: 'EC',
    pkeyopt: 'ec_paramgen_curve:P-256',
    out: file,
  });
  await chmod(file, 0o600);
}

async function newCa(dir: string, subject: string): Promise<CertAuthority> {
  await mkdir(path.join(dir, 'issued'), { recursive: true });
  const ca: CertAuthority = {
    dir,
    cert: path.join(dir, 'cacert.pem'),
    key: path.join(dir, 'cakey.pem'),
    config: path.join(dir, 'openssl.cnf'),
  };
  await writeFile(ca.config, CA_CONFIG.replace('dir = .', `dir = ${dir}`));
  await writeFile(path.join(dir, 'index.txt'), '');
  await newKey(ca.key);
  await openssl('req', ['-x509', '-new'], {
    config: ca.config,
    extensions: 'ca_ext',
    key: ca.key,
    subj: subject,
    days: '3650',
    out: ca.cert,
  });
  return ca;
}

interface LeafOptions {
  readonly subject: string;
  /** extensions are x509v3 lines, e.g. `subjectAltName = IP:10.0.0.1`. */
  readonly extensions: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** validity as openssl ca -startdate/-enddate (YYYYMMDDHHMMSSZ); default ten years from now. */
  readonly dates?: { readonly start: string; readonly end: string };
}

async function signLeaf(ca: CertAuthority, opts: LeafOptions): Promise<void> {
  await newKey(opts.keyFile);
  const csr = `${opts.certFile}.csr`;
  const ext = `${opts.certFile}.ext`;
  await openssl('req', ['-new'], {
    config: ca.config,
    key: opts.keyFile,
    subj: opts.subject,
    out: csr,
  });
  await writeFile(ext, opts.extensions);
  const validity: Record<string, string> = opts.dates
    ? { startdate: opts.dates.start, enddate: opts.dates.end }
    : { days: '3650' };
  await openssl('ca', ['-batch', '-notext'], {
    config: ca.config,
    cert: ca.cert,
    keyfile: ca.key,
    extfile: ext,
    in: csr,
    out: opts.certFile,
    ...validity,
  });
}

/** pkiDir makes a libvirt pkipath-style directory with the given CA certificate. */
async function pkiDir(dir: string, caCert: string): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  await copyFile(caCert, path.join(dir, 'cacert.pem'));
  return { cert: path.join(dir, 'clientcert.pem'), key: path.join(dir, 'clientkey.pem') };
}

async function isExpired(cert: string): Promise<boolean> {
  // -checkend 0 exits 1 when the certificate is no longer valid now.
  return openssl('x509', ['-noout'], { checkend: '0', in: cert }).then(
    () => false,
    () => true,
  );
}

async function createBadFixtures(
  root: string,
  rigCa: CertAuthority,
  client: CertPair,
): Promise<RigPki['bad']> {
  const bad = {
    expired: path.join(root, 'expired'),
    selfSigned: path.join(root, 'self-signed'),
    wrongCa: path.join(root, 'wrong-ca'),
    wrongDn: path.join(root, 'wrong-dn'),
  };

  const expired = await pkiDir(bad.expired, rigCa.cert);
  await signLeaf(rigCa, {
    subject: CONTROLLER_SUBJECT,
    extensions: CLIENT_EXT,
    certFile: expired.cert,
    keyFile: expired.key,
    dates: { start: '20200101000000Z', end: '20200102000000Z' },
  });
  if (!(await isExpired(expired.cert))) throw new Error(`${expired.cert} should have expired`);

  // Same subject as the controller, so the only fault is that no trusted CA signed it.
  const selfSigned = await pkiDir(bad.selfSigned, rigCa.cert);
  await newKey(selfSigned.key);
  await openssl('req', ['-x509', '-new'], {
    config: rigCa.config,
    extensions: 'client_ext',
    key: selfSigned.key,
    subj: CONTROLLER_SUBJECT,
    days: '3650',
    out: selfSigned.cert,
  });

  // A valid client certificate, but a CA that did not sign the servers' certificates.
  const otherCa = await newCa(path.join(root, 'other-ca'), '/O=Elsewhere/CN=Unrelated CA');
  const wrongCa = await pkiDir(bad.wrongCa, otherCa.cert);
  await copyFile(client.cert, wrongCa.cert);
  await copyFile(client.key, wrongCa.key);

  const wrongDn = await pkiDir(bad.wrongDn, rigCa.cert);
  await signLeaf(rigCa, {
    subject: '/O=Kumo/CN=intruder',
    extensions: CLIENT_EXT,
    certFile: wrongDn.cert,
    keyFile: wrongDn.key,
  });
  return bad;
}

/**
 * createPki makes the rig CA, one server certificate per host (CN and subjectAltName = its IP,
 * plus its hostname as a DNS name), the controller's client directory and the failure fixtures.
 */
export async function createPki(
  root: string,
  hosts: readonly { name: string; ip: string }[],
): Promise<{ pki: RigPki; servers: Map<string, CertPair> }> {
  const ca = await newCa(path.join(root, 'ca'), '/O=Kumo/CN=Kumo Rig CA');
  const clientDir = path.join(root, 'client');
  const client = await pkiDir(clientDir, ca.cert);
  await signLeaf(ca, {
    subject: CONTROLLER_SUBJECT,
    extensions: CLIENT_EXT,
    certFile: client.cert,
    keyFile: client.key,
  });

  const servers = new Map<string, CertPair>();
  for (const host of hosts) {
    const dir = path.join(root, 'hosts', host.name);
    await mkdir(dir, { recursive: true });
    const server = { cert: path.join(dir, 'servercert.pem'), key: path.join(dir, 'serverkey.pem') };
    await signLeaf(ca, {
      subject: `/O=Kumo/CN=${host.ip}`,
      extensions: `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:${host.ip}, DNS:${host.name}
`,
      certFile: server.cert,
      keyFile: server.key,
    });
    servers.set(host.name, server);
  }

  // Ask libvirt's own tool for the DN string, so tls_allowed_dn_list matches whatever GnuTLS prints.
  const clientDn = (await run('virt-pki-query-dn', [client.cert])).trim();
  const bad = await createBadFixtures(path.join(root, 'bad'), ca, client);
  return { pki: { caCert: ca.cert, clientDir, clientDn, bad }, servers };
}
