import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  confString,
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  libvirtdTlsLines,
  readCaDir,
  SYSTEM_PATHS,
  writeCaDir,
  writeClientDir,
  writeServerDir,
} from '../../src/pki/index.ts';

const root = await mkdtemp(path.join(tmpdir(), 'kumo-pki-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const mode = async (file: string) => (await stat(file)).mode & 0o777;

describe('libvirt file layout', () => {
  it('writes a CA dir, a client pkipath dir and a server dir; keys 0600', async () => {
    const ca = await createCertificateAuthority();
    const caFiles = await writeCaDir(path.join(root, 'ca'), ca);
    expect(await readdir(path.join(root, 'ca'))).toEqual(['cacert.pem', 'cakey.pem']);
    expect(await mode(caFiles.key)).toBe(0o600);
    expect(await mode(caFiles.cert)).toBe(0o644);
    expect(await readCaDir(path.join(root, 'ca'))).toEqual(ca);

    const client = await issueClientCertificate(ca);
    const c = await writeClientDir(path.join(root, 'client'), ca.certPem, client);
    expect((await readdir(path.join(root, 'client'))).sort()).toEqual([
      'cacert.pem',
      'clientcert.pem',
      'clientkey.pem',
    ]);
    expect(await mode(c.key)).toBe(0o600);
    expect(await readFile(c.ca, 'utf8')).toBe(ca.certPem);

    const server = await issueServerCertificate(ca, { address: '192.0.2.7' });
    const s = await writeServerDir(path.join(root, 'server'), ca.certPem, server);
    expect((await readdir(path.join(root, 'server'))).sort()).toEqual([
      'cacert.pem',
      'servercert.pem',
      'serverkey.pem',
    ]);
    expect(await mode(s.key)).toBe(0o600);
    expect(new X509Certificate(await readFile(s.cert)).checkIP('192.0.2.7')).toBe('192.0.2.7');
  });

  it('refuses to overwrite unless told to, and then fixes the key mode', async () => {
    const dir = path.join(root, 'again');
    const ca = await createCertificateAuthority();
    await writeCaDir(dir, ca);
    await expect(writeCaDir(dir, await createCertificateAuthority())).rejects.toThrow(
      /cakey.pem exists already/,
    );
    expect(await readCaDir(dir)).toEqual(ca);
    await writeFile(path.join(dir, 'cakey.pem'), 'x', { mode: 0o644 });
    const other = await createCertificateAuthority();
    await writeCaDir(dir, other, { overwrite: true });
    expect(await readCaDir(dir)).toEqual(other);
    expect(await mode(path.join(dir, 'cakey.pem'))).toBe(0o600);
  });

  it('names the missing file of a CA dir', async () => {
    await expect(readCaDir(path.join(root, 'nothing'))).rejects.toThrow(
      /no CA in .*nothing: cannot read the CA certificate .*cacert.pem \(ENOENT\)/,
    );
  });

  it('knows libvirt default locations', () => {
    expect(SYSTEM_PATHS).toEqual({
      ca: '/etc/pki/CA/cacert.pem',
      clientCert: '/etc/pki/libvirt/clientcert.pem',
      clientKey: '/etc/pki/libvirt/private/clientkey.pem',
      serverCert: '/etc/pki/libvirt/servercert.pem',
      serverKey: '/etc/pki/libvirt/private/serverkey.pem',
    });
  });
});

describe('libvirtd.conf lines', () => {
  it('turn on TLS with the server files and allow the client DNs', () => {
    expect(libvirtdTlsLines({ allowedDns: ['O=Kumo,CN=kumo-controller'] })).toEqual([
      'listen_tls = 1',
      'key_file = "/etc/pki/libvirt/private/serverkey.pem"',
      'cert_file = "/etc/pki/libvirt/servercert.pem"',
      'ca_file = "/etc/pki/CA/cacert.pem"',
      'tls_allowed_dn_list = ["O=Kumo,CN=kumo-controller"]',
    ]);
    const custom = libvirtdTlsLines({
      allowedDns: ['O=Kumo,CN=a', 'CN=say \\"hi\\"'],
      caFile: '/k/ca.pem',
      certFile: '/k/c.pem',
      keyFile: '/k/k.pem',
    });
    expect(custom).toContain('key_file = "/k/k.pem"');
    expect(custom.at(-1)).toBe(`tls_allowed_dn_list = ["O=Kumo,CN=a", 'CN=say \\"hi\\"']`);
    expect(() => libvirtdTlsLines({ allowedDns: [] })).toThrow(/at least one client DN/);
  });

  it('quote values the way libvirt config parser reads them (no escapes)', () => {
    expect(confString('a\\,b')).toBe('"a\\,b"');
    expect(confString(`say "hi"`)).toBe(`'say "hi"'`);
    expect(confString(`it's "x" ok`)).toBe(`"""it's "x" ok"""`);
    expect(confString(`a"b'c`)).toBe(`"""a"b'c"""`);
    expect(() => confString(`a"""b'`)).toThrow(/cannot be written/);
    expect(() => confString(`it's "x"`)).toThrow(/cannot be written/);
  });
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.resolve('scripts/pki.ts'), ...args],
      { cwd: root },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('scripts/pki.ts', () => {
  it('does each PKI step in one command', async () => {
    const ca = await cli(['ca', '--out', 'cli/ca', '--org', 'Lab', '--cn', 'Lab CA']);
    expect(ca).toMatchObject({ code: 0, stderr: '' });
    expect(ca.stdout).toContain('CA O=Lab,CN=Lab CA');

    const client = await cli(['client', '--ca', 'cli/ca', '--out', 'cli/client']);
    expect(client).toMatchObject({ code: 0, stderr: '' });
    expect(client.stdout).toContain('client O=Lab,CN=kumo-controller');
    expect(client.stdout).toContain(`pkipath=${path.join(root, 'cli/client')}`);

    const server = await cli([
      'server',
      '--ca',
      'cli/ca',
      '--address',
      '192.0.2.10',
      '--alt-name',
      'hv10.lab',
      '--out',
      'cli/hv10',
    ]);
    expect(server).toMatchObject({ code: 0, stderr: '' });
    const lines = libvirtdTlsLines({ allowedDns: ['O=Lab,CN=kumo-controller'] });
    expect(server.stdout).toContain(lines.join('\n'));
    expect(server.stdout).toContain(`${path.join(root, 'cli/hv10/serverkey.pem')}`);
    expect(server.stdout).toMatch(
      /serverkey\.pem +-> +\/etc\/pki\/libvirt\/private\/serverkey\.pem/,
    );
    const cert = new X509Certificate(await readFile(path.join(root, 'cli/hv10/servercert.pem')));
    expect(cert.subject).toBe('O=Lab\nCN=192.0.2.10');
    expect(cert.subjectAltName).toBe('IP Address:192.0.2.10, DNS:hv10.lab');
    const caCert = new X509Certificate(await readFile(path.join(root, 'cli/ca/cacert.pem')));
    expect(cert.verify(caCert.publicKey)).toBe(true);

    // The DN of a client directory given with --client is what the host is told to allow.
    await cli(['client', '--ca', 'cli/ca', '--out', 'cli/ops', '--cn', 'ops']);
    const two = await cli(
      ['server', '--ca', 'cli/ca', '--address', 'hv11.lab', '--out', 'cli/hv11'].concat([
        '--client',
        'cli/client',
        '--client',
        'cli/ops',
      ]),
    );
    expect(two.stdout).toContain(
      'tls_allowed_dn_list = ["O=Lab,CN=kumo-controller", "O=Lab,CN=ops"]',
    );
  });

  it('says clearly what is wrong with bad input', async () => {
    const missing = await cli(['server', '--ca', 'no/such', '--address', '10.0.0.1', '--out', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no CA in .*no\/such: cannot read the CA certificate/);

    await cli(['ca', '--out', 'bad/ca']);
    const address = await cli(['server', '--ca', 'bad/ca', '--address', '300.1.1.1', '--out', 'x']);
    expect(address.code).toBe(1);
    expect(address.stderr).toContain('"300.1.1.1" is not a valid IP address');

    const name = await cli(['server', '--ca', 'bad/ca', '--address', 'a b', '--out', 'x']);
    expect(name.stderr).toMatch(/neither an IP address nor a DNS name/);

    const noAddress = await cli(['server', '--ca', 'bad/ca', '--out', 'x']);
    expect(noAddress.code).toBe(2);
    expect(noAddress.stderr).toMatch(/--address is required/);

    const again = await cli(['ca', '--out', 'bad/ca']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);

    const days = await cli(['ca', '--out', 'bad/ca2', '--days', 'ten']);
    expect(days.code).toBe(2);
    expect(days.stderr).toMatch(/--days must be a positive whole number/);

    expect((await cli(['nonsense'])).code).toBe(2);
    expect((await cli(['ca', '--bogus'])).code).toBe(2);
    expect((await cli(['help'])).code).toBe(0);
  });
});
