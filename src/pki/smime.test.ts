import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmimeError, type SmimeErrorCode, signSmime, verifySmime } from './index.ts';
import { issueClientCertificate } from './issue.ts';

// Fixtures are made with the openssl CLI, as endorsers make theirs for vmcaster.
const run = promisify(execFile);
const dir = await mkdtemp(path.join(tmpdir(), 'kumo-smime-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

async function openssl(...args: string[]): Promise<Buffer> {
  const { stdout } = await run('openssl', args, { encoding: 'buffer', env: { LC_ALL: 'C' } });
  return stdout;
}

const CONFIG = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[endorser]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

type KeyType = 'rsa' | 'ec';
const NEW_KEY: Record<KeyType, string[]> = {
  rsa: ['-newkey', 'rsa:2048'],
  ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
};

/** Issued names a certificate's files and its subject as `-nameopt compat` prints it. */
interface Issued {
  readonly cert: string;
  readonly key: string;
  readonly subject: string;
}

async function compatSubject(cert: string): Promise<string> {
  const out = await openssl('x509', '-in', cert, '-noout', '-subject', '-nameopt', 'compat');
  return out
    .toString('utf8')
    .replace(/^subject=/, '')
    .trimEnd();
}

async function makeCa(name: string, subj: string, days = 3650, issuer?: Issued): Promise<Issued> {
  const [cert, key, csr] = [file(`${name}.pem`), file(`${name}.key`), file(`${name}.csr`)];
  const keyArgs = [...NEW_KEY.rsa, '-nodes', '-keyout', key, '-subj', subj, '-config', file('cnf')];
  if (issuer) {
    await openssl('req', '-new', ...keyArgs, '-out', csr);
    await openssl(
      ...['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-days', `${days}`],
      ...['-set_serial', '7', '-extfile', file('cnf'), '-extensions', 'ca', '-out', cert],
    );
  } else {
    await openssl(
      'req',
      '-x509',
      ...keyArgs,
      ...['-extensions', 'ca', '-days', `${days}`, '-out', cert],
    );
  }
  return { cert, key, subject: await compatSubject(cert) };
}

async function makeEndorser(name: string, subj: string, ca: Issued, type: KeyType, days = 365) {
  const [cert, key, csr] = [file(`${name}.pem`), file(`${name}.key`), file(`${name}.csr`)];
  await openssl(
    ...['req', '-new', ...NEW_KEY[type], '-nodes', '-keyout', key, '-subj', subj],
    ...['-out', csr, '-config', file('cnf')],
  );
  await openssl(
    ...['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-days', `${days}`],
    ...['-set_serial', '2', '-extfile', file('cnf'), '-extensions', 'endorser', '-out', cert],
  );
  return { cert, key, subject: await compatSubject(cert) };
}

// An image list as vmcaster writes one: pretty-printed, LF line ends, a final newline.
const LIST = Buffer.from(
  `${JSON.stringify({ 'hv:imagelist': { 'dc:title': 'Kumo test images', 'hv:images': [] } }, null, 2)}\n`,
);
const ONE_LINE = Buffer.from('{"hv:imagelist":{"dc:title":"Kumo test images"}}');

let ca: Issued;
let endorsers: Record<KeyType, Issued>;
let other: Issued;
let caPem: string;

beforeAll(async () => {
  await writeFile(file('cnf'), CONFIG);
  ca = await makeCa('ca', '/DC=org/DC=kumo-test/CN=Kumo Test Endorsers CA');
  const subject = (cn: string) => `/DC=org/DC=kumo-test/O=Kumo/CN=${cn}`;
  endorsers = {
    rsa: await makeEndorser('rsa', subject('endorser rsa'), ca, 'rsa'),
    ec: await makeEndorser('ec', subject('endorser ec'), ca, 'ec'),
  };
  const otherCa = await makeCa('other-ca', '/DC=org/DC=elsewhere/CN=Unrelated CA');
  other = await makeEndorser('other', '/DC=org/DC=elsewhere/CN=impostor', otherCa, 'ec');
  caPem = await readFile(ca.cert, 'utf8');
}, 60_000);

let n = 0;
/** smimeSign runs `openssl smime -sign` over `content` and returns the message. */
async function smimeSign(signer: Issued, content: Buffer, ...flags: string[]): Promise<Buffer> {
  const input = file(`in-${n++}`);
  await writeFile(input, content);
  const signing = ['-sign', '-signer', signer.cert, '-inkey', signer.key, '-in', input];
  return openssl('smime', ...signing, ...flags);
}

/** smimeVerify runs `openssl <command> -verify` on a message and returns what it outputs. */
async function smimeVerify(command: 'smime' | 'cms', message: string, ...flags: string[]) {
  const input = file(`msg-${n++}`);
  await writeFile(input, message);
  return openssl(command, '-verify', '-CAfile', ca.cert, '-in', input, ...flags);
}

async function refusal(promise: Promise<unknown>, code: SmimeErrorCode): Promise<SmimeError> {
  const err = await promise.then(
    () => new Error('verifySmime accepted the message'),
    (e: unknown) => e,
  );
  if (!(err instanceof SmimeError)) throw err;
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  return err;
}

const trust = () => ({ caCertificates: [caPem] });
const now = () => new Date();

describe('verifySmime on what openssl smime -sign writes', () => {
  const FORMS: readonly [string, string[]][] = [
    ['detached, text mode (the default)', []],
    ['detached, -binary', ['-binary']],
    ['detached, -text (a text/plain header inside the signature)', ['-text']],
    ['opaque, -nodetach', ['-nodetach']],
    ['opaque, -nodetach -binary', ['-nodetach', '-binary']],
    ['opaque, -nodetach -stream (indefinite-length BER)', ['-nodetach', '-stream']],
  ];
  for (const type of ['rsa', 'ec'] as const) {
    it.each(FORMS)(`${type}: %s gives back the JSON and the signer`, async (_, flags) => {
      const endorser = endorsers[type];
      const verified = await verifySmime(await smimeSign(endorser, LIST, ...flags), trust(), now());
      expect(verified.content.equals(LIST)).toBe(true);
      expect(verified.signer.subjectDn).toBe(endorser.subject);
      expect(verified.signer.issuerDn).toBe(ca.subject);
      expect(verified.signer.certificatePem).toBe(await readFile(endorser.cert, 'utf8'));
      expect(verified.signer.notAfter.getTime()).toBeGreaterThan(Date.now());
    });
  }

  it('takes JSON without line breaks byte for byte, as a string too', async () => {
    const message = await smimeSign(endorsers.rsa, ONE_LINE);
    const verified = await verifySmime(message.toString('utf8'), trust(), now());
    expect(verified.content.equals(ONE_LINE)).toBe(true);
  });

  it('still verifies a text-mode message whose line ends a transport turned into LF', async () => {
    const message = (await smimeSign(endorsers.ec, LIST)).toString('latin1');
    expect(message).toContain('\r\n');
    const verified = await verifySmime(message.replaceAll('\r\n', '\n'), trust(), now());
    expect(verified.content.equals(LIST)).toBe(true);
  });

  it('follows a chain through an intermediate CA the message carries', async () => {
    const intermediate = await makeCa('inter', '/DC=org/DC=kumo-test/CN=Intermediate CA', 365, ca);
    const endorser = await makeEndorser('leaf', '/DC=org/DC=kumo-test/CN=leaf', intermediate, 'ec');
    const withChain = await smimeSign(endorser, LIST, '-certfile', intermediate.cert);
    expect((await verifySmime(withChain, trust(), now())).signer.issuerDn).toBe(
      intermediate.subject,
    );
    const withoutChain = await smimeSign(endorser, LIST);
    const err = await refusal(verifySmime(withoutChain, trust(), now()), 'UNTRUSTED');
    expect(err.message).toContain('/DC=org/DC=kumo-test/CN=leaf');
  });
});

/** base64 of the signature part or opaque body, decoded, changed and put back. */
function editPkcs7(message: Buffer, edit: (der: Buffer) => void): string {
  const text = message.toString('latin1');
  const match = /\n\n([A-Za-z0-9+/=\n]+?)\n\n/.exec(
    text.slice(text.lastIndexOf('Content-Transfer-Encoding')),
  );
  const body = match?.[1];
  if (!body) throw new Error('no base64 body in the message');
  const der = Buffer.from(body, 'base64');
  edit(der);
  return text.replace(body, der.toString('base64').replace(/.{64}/g, '$&\n').trimEnd());
}

describe('verifySmime refusals', () => {
  it('refuses detached content changed by one byte: BAD_SIGNATURE', async () => {
    const message = (await smimeSign(endorsers.rsa, LIST)).toString('latin1');
    const altered = message.replace('Kumo test images', 'Kumo test imageZ');
    expect(altered).not.toBe(message);
    const err = await refusal(verifySmime(altered, trust(), now()), 'BAD_SIGNATURE');
    expect(err.message).toMatch(/altered/);
  });

  it('refuses opaque content changed by one byte: BAD_SIGNATURE', async () => {
    const message = await smimeSign(endorsers.ec, LIST, '-nodetach');
    const altered = editPkcs7(message, (der) => {
      const at = der.indexOf('Kumo test images');
      der[at] = 'k'.charCodeAt(0);
    });
    await refusal(verifySmime(altered, trust(), now()), 'BAD_SIGNATURE');
  });

  for (const type of ['rsa', 'ec'] as const) {
    it(`${type}: refuses a signature value changed by one byte: BAD_SIGNATURE`, async () => {
      // The signature value is the last field of the SignerInfo, the last bytes of the DER.
      const altered = editPkcs7(await smimeSign(endorsers[type], LIST), (der) => {
        der[der.length - 1] = (der.at(-1) ?? 0) ^ 0x01;
      });
      const err = await refusal(verifySmime(altered, trust(), now()), 'BAD_SIGNATURE');
      expect(err.message).toMatch(/signature/);
    });
  }

  it('refuses a PKCS#7 structure changed by one byte: MALFORMED', async () => {
    const altered = editPkcs7(await smimeSign(endorsers.rsa, LIST), (der) => {
      der[0] = 0x31;
    });
    await refusal(verifySmime(altered, trust(), now()), 'MALFORMED');
  });

  it('refuses a signer whose CA is not trusted: UNTRUSTED', async () => {
    const err = await refusal(
      verifySmime(await smimeSign(other, LIST), trust(), now()),
      'UNTRUSTED',
    );
    expect(err.message).toContain('/DC=org/DC=elsewhere/CN=impostor');
    expect(err.message).toContain('/DC=org/DC=elsewhere/CN=Unrelated CA');
  });

  it('refuses an endorser certificate that expired: CERTIFICATE_EXPIRED', async () => {
    const notAfter = new Date(Math.floor(Date.now() / 1000 - 86_400) * 1000);
    const issued = await issueClientCertificate(
      { certPem: caPem, keyPem: await readFile(ca.key, 'utf8') },
      {
        commonName: 'expired endorser',
        notBefore: new Date(Date.now() - 30 * 86_400_000),
        notAfter,
      },
    );
    await writeFile(file('expired.pem'), issued.certPem);
    await writeFile(file('expired.key'), issued.keyPem);
    const expired = { cert: file('expired.pem'), key: file('expired.key'), subject: '' };
    const err = await refusal(
      verifySmime(await smimeSign(expired, LIST), trust(), now()),
      'CERTIFICATE_EXPIRED',
    );
    expect(err.message).toContain("the signer's certificate /CN=expired endorser expired");
    expect(err.message).toContain(notAfter.toISOString());
  });

  it('refuses a signer checked before its certificate was valid: CERTIFICATE_EXPIRED', async () => {
    const err = await refusal(
      verifySmime(await smimeSign(endorsers.rsa, LIST), trust(), new Date('2001-01-01')),
      'CERTIFICATE_EXPIRED',
    );
    expect(err.message).toMatch(/endorser rsa is not valid before/);
  });

  it('refuses a chain whose CA expired: CERTIFICATE_EXPIRED naming the CA', async () => {
    const shortCa = await makeCa('short-ca', '/DC=org/DC=kumo-test/CN=Short-lived CA', 2);
    const endorser = await makeEndorser('long', '/DC=org/DC=kumo-test/CN=long', shortCa, 'ec', 30);
    const shortPem = await readFile(shortCa.cert, 'utf8');
    const message = await smimeSign(endorser, LIST);
    const in10Days = new Date(Date.now() + 10 * 86_400_000);
    const err = await refusal(
      verifySmime(message, { caCertificates: [shortPem] }, in10Days),
      'CERTIFICATE_EXPIRED',
    );
    expect(err.message).toContain('the CA certificate in the signer');
    expect(err.message).toContain('/DC=org/DC=kumo-test/CN=Short-lived CA expired on');
  });

  it.each([
    ['plain JSON', LIST.toString('utf8')],
    ['a text/plain MIME message', 'Content-Type: text/plain\n\n{}\n'],
    [
      'a PGP-signed message',
      'Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary=b\n\n--b\n{}\n--b--\n',
    ],
  ])('refuses %s: NOT_SIGNED', async (_, message) => {
    await refusal(verifySmime(message, trust(), now()), 'NOT_SIGNED');
  });

  const SIGNED = 'Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"';
  const P7S = 'Content-Type: application/x-pkcs7-signature\nContent-Transfer-Encoding: base64\n\n';
  it.each([
    ['without a boundary', `${SIGNED}\n\n--b\n{}\n--b--\n`],
    ['without its closing boundary', `${SIGNED}; boundary=b\n\n--b\n{}\n--b\n${P7S}MIIB\n`],
    ['with one part', `${SIGNED}; boundary=b\n\n--b\n{}\n--b--\n`],
    [
      'with a signature that is not base64',
      `${SIGNED}; boundary=b\n\n--b\n{}\n--b\n${P7S}@@@@\n--b--\n`,
    ],
    [
      'with a signature that is not PKCS#7',
      `${SIGNED}; boundary=b\n\n--b\n{}\n--b\n${P7S}aGVsbG8gd29ybGQh\n--b--\n`,
    ],
    ['with an untyped second part', `${SIGNED}; boundary=b\n\n--b\n{}\n--b\n\nMIIB\n--b--\n`],
    [
      'opaque, not base64',
      'Content-Type: application/pkcs7-mime; smime-type=signed-data\n\nMIIB\n',
    ],
  ])('refuses a multipart/signed message %s: MALFORMED', async (_, message) => {
    await refusal(verifySmime(message, trust(), now()), 'MALFORMED');
  });
});

describe('signSmime', () => {
  for (const type of ['rsa', 'ec'] as const) {
    const identity = async () => ({
      certificatePem: await readFile(endorsers[type].cert, 'utf8'),
      keyPem: await readFile(endorsers[type].key, 'utf8'),
    });

    it(`${type}: openssl smime and cms verify it and output the content unchanged`, async () => {
      const message = await signSmime(ONE_LINE, await identity());
      expect((await smimeVerify('smime', message)).equals(ONE_LINE)).toBe(true);
      expect((await smimeVerify('smime', message, '-binary')).equals(ONE_LINE)).toBe(true);
      expect((await smimeVerify('cms', message, '-binary')).equals(ONE_LINE)).toBe(true);
      const verified = await verifySmime(message, trust(), now());
      expect(verified.content.equals(ONE_LINE)).toBe(true);
      expect(verified.signer.subjectDn).toBe(endorsers[type].subject);
    });

    it(`${type}: signs LF-ended JSON in text mode (CRLF for openssl, as given for verifySmime)`, async () => {
      const message = await signSmime(LIST, await identity());
      const crlf = Buffer.from(LIST.toString('utf8').replaceAll('\n', '\r\n'));
      expect((await smimeVerify('smime', message)).equals(crlf)).toBe(true);
      expect((await smimeVerify('cms', message, '-binary')).equals(crlf)).toBe(true);
      expect((await verifySmime(message, trust(), now())).content.equals(LIST)).toBe(true);
    });
  }

  it('sends the chain along, so verifiers that trust only the root accept it', async () => {
    const intermediate = await makeCa('inter2', '/DC=org/DC=kumo-test/CN=Second CA', 365, ca);
    const endorser = await makeEndorser(
      'leaf2',
      '/DC=org/DC=kumo-test/CN=leaf2',
      intermediate,
      'rsa',
    );
    const message = await signSmime(ONE_LINE, {
      certificatePem: await readFile(endorser.cert, 'utf8'),
      keyPem: await readFile(endorser.key, 'utf8'),
      chainPem: [await readFile(intermediate.cert, 'utf8')],
    });
    expect((await smimeVerify('smime', message)).equals(ONE_LINE)).toBe(true);
    expect((await verifySmime(message, trust(), now())).signer.subjectDn).toBe(endorser.subject);
  });

  it('refuses a key that is not the certificate', async () => {
    const signing = signSmime(ONE_LINE, {
      certificatePem: await readFile(endorsers.rsa.cert, 'utf8'),
      keyPem: await readFile(endorsers.ec.key, 'utf8'),
    });
    await expect(signing).rejects.toThrow(/does not belong to the signer certificate/);
  });
});
