import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CertificateAuthority } from './ca.ts';
import type { IssuedCertificate } from './issue.ts';

/** CA_FILES are the file names in a CA directory (the lecture note's demoCA keeps the same two). */
export const CA_FILES = { cert: 'cacert.pem', key: 'cakey.pem' } as const;

/** CLIENT_FILES are the names libvirt looks for in a client's `pkipath` directory. */
export const CLIENT_FILES = {
  ca: 'cacert.pem',
  cert: 'clientcert.pem',
  key: 'clientkey.pem',
} as const;

/** SERVER_FILES are the names of a host's files in a directory Kumo writes. */
export const SERVER_FILES = {
  ca: 'cacert.pem',
  cert: 'servercert.pem',
  key: 'serverkey.pem',
} as const;

/**
 * SYSTEM_PATHS are libvirt's default locations (its TLS setup guide, and what libvirtd and
 * a root client read without `pkipath` or key_file/cert_file/ca_file). A non-root client
 * reads `~/.pki/libvirt/{cacert,clientcert,clientkey}.pem` instead.
 */
export const SYSTEM_PATHS = {
  ca: '/etc/pki/CA/cacert.pem',
  clientCert: '/etc/pki/libvirt/clientcert.pem',
  clientKey: '/etc/pki/libvirt/private/clientkey.pem',
  serverCert: '/etc/pki/libvirt/servercert.pem',
  serverKey: '/etc/pki/libvirt/private/serverkey.pem',
} as const;

/** PkiPaths name the three files of a client or server directory. */
export interface PkiPaths {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** WriteOptions control how files are written. */
export interface WriteOptions {
  /** overwrite replaces existing files; without it an existing file is an error. */
  readonly overwrite?: boolean;
}

async function put(file: string, data: string, mode: number, opts: WriteOptions): Promise<void> {
  try {
    await writeFile(file, data, { mode, flag: opts.overwrite ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${file} exists already; refusing to overwrite it`, { cause: err });
    }
    throw err;
  }
  // mode applies only to a file writeFile creates; an overwritten one keeps its old mode.
  await chmod(file, mode);
}

/** writeCaDir writes a CA's certificate (0644) and private key (0600) into dir. */
export async function writeCaDir(
  dir: string,
  ca: CertificateAuthority,
  opts: WriteOptions = {},
): Promise<{ cert: string; key: string }> {
  // Only the CA's own directory is private; parents made on the way keep the usual mode.
  await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { cert: path.join(dir, CA_FILES.cert), key: path.join(dir, CA_FILES.key) };
  // The key first: a directory with a certificate but no key would look like a usable CA.
  await put(files.key, ca.keyPem, 0o600, opts);
  await put(files.cert, ca.certPem, 0o644, opts);
  return files;
}

/** readCaDir reads the CA in dir, naming the file that is missing or unreadable. */
export async function readCaDir(dir: string): Promise<CertificateAuthority> {
  const read = async (what: string, name: string) => {
    const file = path.join(dir, name);
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new Error(`no CA in ${dir}: cannot read the ${what} ${file} (${code})`, {
        cause: err,
      });
    }
  };
  // One after the other, so the message names the certificate when the whole CA is missing.
  const certPem = await read('CA certificate', CA_FILES.cert);
  const keyPem = await read('CA key', CA_FILES.key);
  return { certPem, keyPem };
}

async function writeTriple(
  dir: string,
  names: { ca: string; cert: string; key: string },
  caCertPem: string,
  issued: IssuedCertificate,
  opts: WriteOptions,
): Promise<PkiPaths> {
  await mkdir(dir, { recursive: true });
  const files = {
    ca: path.join(dir, names.ca),
    cert: path.join(dir, names.cert),
    key: path.join(dir, names.key),
  };
  await put(files.ca, caCertPem, 0o644, opts);
  await put(files.cert, issued.certPem, 0o644, opts);
  await put(files.key, issued.keyPem, 0o600, opts);
  return files;
}

/**
 * writeClientDir writes a client's `pkipath` directory: cacert.pem, clientcert.pem and
 * clientkey.pem (0600). Use it as `qemu+tls://host/system?pkipath=<dir>`.
 */
export function writeClientDir(
  dir: string,
  caCertPem: string,
  client: IssuedCertificate,
  opts: WriteOptions = {},
): Promise<PkiPaths> {
  return writeTriple(dir, CLIENT_FILES, caCertPem, client, opts);
}

/**
 * writeServerDir writes a host's files: cacert.pem, servercert.pem and serverkey.pem (0600),
 * to be copied to {@link SYSTEM_PATHS} on the host or named in its libvirtd.conf.
 */
export function writeServerDir(
  dir: string,
  caCertPem: string,
  server: IssuedCertificate,
  opts: WriteOptions = {},
): Promise<PkiPaths> {
  return writeTriple(dir, SERVER_FILES, caCertPem, server, opts);
}
