#!/usr/bin/env node
// Kumo as the fleet's certificate authority: the PKI steps of libvirt's TLS set-up, one
// command each. `node scripts/pki.ts help` for usage.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type CertificateAuthority,
  certificateDn,
  clientSubject,
  createCertificateAuthority,
  DEFAULT_CLIENT_CN,
  issueClientCertificate,
  issueServerCertificate,
  libvirtdTlsLines,
  parseHostAddress,
  readCaDir,
  SYSTEM_PATHS,
  subjectDn,
  writeCaDir,
  writeClientDir,
  writeServerDir,
} from '../src/pki/index.ts';

const USAGE = `usage: node scripts/pki.ts <command> [options]
  ca      --out <dir> [--cn "Kumo CA"] [--org Kumo]
          create a CA: <dir>/cacert.pem and <dir>/cakey.pem (0600; keep it off the hosts)
  client  --ca <dir> --out <pkipath dir> [--cn ${DEFAULT_CLIENT_CN}] [--org <O>]
          issue the controller's client certificate: cacert.pem, clientcert.pem, clientkey.pem
  server  --ca <dir> --address <ip-or-dns> --out <dir> [--alt-name <ip-or-dns>]...
          [--org <O>] [--allow-dn <DN>]... [--client <pkipath dir>]...
          issue a host's server certificate (CN and subjectAltName = its address): cacert.pem,
          servercert.pem, serverkey.pem; prints the libvirtd.conf lines and where files go.
          tls_allowed_dn_list admits --allow-dn, the clients in --client dirs, or by default
          the DN a default \`client\` of this CA gets.
common: [--days <n>] lifetime (CA 3650, others 3650 capped at the CA's); [--force] overwrite
  --org defaults to the CA's O for client and server certificates.`;

/** UsageError is bad input on the command line: printed with the usage, exit status 2. */
class UsageError extends Error {}

const OPTIONS = {
  out: { type: 'string' },
  ca: { type: 'string' },
  cn: { type: 'string' },
  org: { type: 'string' },
  address: { type: 'string' },
  'alt-name': { type: 'string', multiple: true },
  'allow-dn': { type: 'string', multiple: true },
  client: { type: 'string', multiple: true },
  days: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Parsed = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
type Values = Parsed['values'];

function required(values: Values, name: 'out' | 'ca'): string {
  const value = values[name];
  if (!value) throw new UsageError(`--${name} is required`);
  return path.resolve(value);
}

function days(values: Values): number | undefined {
  if (values.days === undefined) return undefined;
  const n = Number(values.days);
  if (!Number.isInteger(n) || n <= 0) {
    throw new UsageError(`--days must be a positive whole number, not "${values.days}"`);
  }
  return n;
}

const say = (line = '') => process.stdout.write(`${line}\n`);

async function ca(values: Values): Promise<void> {
  const out = required(values, 'out');
  const authority = await createCertificateAuthority({
    commonName: values.cn,
    organization: values.org,
    validityDays: days(values),
  });
  const files = await writeCaDir(out, authority, { overwrite: values.force });
  say(`CA ${certificateDn(authority.certPem)}`);
  say(`  ${files.cert}`);
  say(`  ${files.key} (0600: whoever holds it can admit any client; keep it off the hosts)`);
  say();
  say(
    `Every host and the controller trust ${files.cert}: on a host it goes to ${SYSTEM_PATHS.ca}.`,
  );
}

async function loadCa(values: Values): Promise<CertificateAuthority> {
  return readCaDir(required(values, 'ca'));
}

async function client(values: Values): Promise<void> {
  const authority = await loadCa(values);
  const out = required(values, 'out');
  const issued = await issueClientCertificate(authority, {
    commonName: values.cn,
    organization: values.org,
    validityDays: days(values),
  });
  const files = await writeClientDir(out, authority.certPem, issued, { overwrite: values.force });
  say(`client ${issued.dn}`);
  for (const f of [files.ca, files.cert]) say(`  ${f}`);
  say(`  ${files.key} (0600)`);
  say();
  say(`Connect with qemu+tls://<host>/system?pkipath=${out}`);
  say(`(or, for root without pkipath, copy them to ${SYSTEM_PATHS.ca},`);
  say(`${SYSTEM_PATHS.clientCert} and ${SYSTEM_PATHS.clientKey}).`);
  say(`Hosts admit this client with tls_allowed_dn_list = ["${issued.dn}"].`);
}

async function allowedDns(values: Values, authority: CertificateAuthority): Promise<string[]> {
  const dns = [...(values['allow-dn'] ?? [])];
  for (const dir of values.client ?? []) {
    const file = path.resolve(dir, 'clientcert.pem');
    const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the client certificate ${file} (${err.code ?? err.message})`);
    });
    dns.push(certificateDn(pem));
  }
  // The DN `client` gives by default; --org here is the server's, not the client's.
  if (dns.length === 0) dns.push(subjectDn(clientSubject(authority)));
  return [...new Set(dns)];
}

async function server(values: Values): Promise<void> {
  const authority = await loadCa(values);
  const address = values.address;
  if (!address) throw new UsageError('--address is required (the host of its qemu+tls:// URI)');
  parseHostAddress(address);
  const out = required(values, 'out');
  const dns = await allowedDns(values, authority);
  const issued = await issueServerCertificate(authority, {
    address,
    altNames: values['alt-name'],
    organization: values.org,
    validityDays: days(values),
  });
  const files = await writeServerDir(out, authority.certPem, issued, { overwrite: values.force });
  say(`server ${issued.dn}`);
  say();
  say('Copy to the host (libvirt reads these locations by default):');
  const copies = [
    [files.ca, SYSTEM_PATHS.ca, '0644'],
    [files.cert, SYSTEM_PATHS.serverCert, '0644'],
    [files.key, SYSTEM_PATHS.serverKey, '0600'],
  ] as const;
  const width = Math.max(...copies.map(([from]) => from.length));
  for (const [from, to, mode] of copies) say(`  ${from.padEnd(width)}  ->  ${to}  (${mode})`);
  say();
  say('Lines for /etc/libvirt/libvirtd.conf on the host:');
  say();
  for (const line of libvirtdTlsLines({ allowedDns: dns })) say(line);
  say();
  say('Then restart libvirtd with --listen (under systemd socket activation, run');
  say('`systemctl enable --now libvirtd-tls.socket` instead; it ignores listen_tls).');
  say(`Clients reach it as qemu+tls://${parseHostAddress(address).value}/system.`);
}

async function main(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`pki: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help' || command === undefined) {
    say(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  const commands: Record<string, (v: Values) => Promise<void>> = { ca, client, server };
  const run = commands[command];
  try {
    if (!run) throw new UsageError(`unknown command "${command}"`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    await run(parsed.values);
    return 0;
  } catch (err) {
    const usage = err instanceof UsageError ? `\n${USAGE}` : '';
    process.stderr.write(`pki: ${(err as Error).message}${usage}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
