import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  openCertificateAuthority,
  parseHostAddress,
  selfSignedClientCertificate,
} from '../../src/pki/index.ts';
import { privateKeyFromPem } from '../../src/pki/keys.ts';
import { x509 } from '../../src/pki/x509.ts';

const ca = await createCertificateAuthority({ organization: 'Kumo', commonName: 'Test CA' });
const caNode = new X509Certificate(ca.certPem);

function ext<T extends x509.Extension>(
  cert: x509.X509Certificate,
  type: new (raw: BufferSource) => T,
): T {
  const found = cert.getExtension(type);
  if (!found) throw new Error(`no ${type.name} in ${cert.subject}`);
  return found;
}

function serialBytes(cert: X509Certificate): Buffer {
  return Buffer.from(cert.serialNumber, 'hex');
}

describe('the CA', () => {
  const cert = new x509.X509Certificate(ca.certPem);

  it('is self-signed with basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign, both critical', async () => {
    expect(cert.subject).toBe('O=Kumo, CN=Test CA');
    expect(cert.issuer).toBe(cert.subject);
    expect(await cert.verify({ signatureOnly: true })).toBe(true);
    const bc = ext(cert, x509.BasicConstraintsExtension);
    expect([bc.ca, bc.critical]).toEqual([true, true]);
    const ku = ext(cert, x509.KeyUsagesExtension);
    expect(ku.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(ku.critical).toBe(true);
    const ski = ext(cert, x509.SubjectKeyIdentifierExtension);
    expect(ski.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(ext(cert, x509.AuthorityKeyIdentifierExtension).keyId).toBe(ski.keyId);
    expect(caNode.ca).toBe(true);
    expect(caNode.verify(caNode.publicKey)).toBe(true);
    expect(caNode.checkIssued(caNode)).toBe(true);
  });

  it('has an ECDSA P-256 key in PKCS#8 PEM that matches its certificate', async () => {
    expect(ca.keyPem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/,
    );
    const key = createPrivateKey(ca.keyPem);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(caNode.checkPrivateKey(key)).toBe(true);
    expect(caNode.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(caNode.toLegacyObject().asn1Curve).toBe('prime256v1');
  });

  it('lasts ten years from five minutes ago by default, or the dates given', async () => {
    const from = new Date(caNode.validFrom).getTime();
    expect(Date.now() - from).toBeGreaterThan(4 * 60_000);
    expect(Date.now() - from).toBeLessThan(7 * 60_000);
    const years = (new Date(caNode.validTo).getTime() - from) / (365.25 * 86_400_000);
    expect(years).toBeCloseTo(10, 1);
    const dated = await createCertificateAuthority({
      notBefore: new Date('2030-05-01T12:00:00.789Z'),
      notAfter: new Date('2031-05-01T12:00:00Z'),
    });
    const c = new X509Certificate(dated.certPem);
    expect(new Date(c.validFrom).toISOString()).toBe('2030-05-01T12:00:00.000Z');
    expect(new Date(c.validTo).toISOString()).toBe('2031-05-01T12:00:00.000Z');
  });

  it('refuses a key that is not its own, and a certificate that is not a CA', async () => {
    const other = await createCertificateAuthority();
    await expect(openCertificateAuthority({ ...ca, keyPem: other.keyPem })).rejects.toThrow(
      /does not belong to the CA certificate/,
    );
    const leaf = await issueClientCertificate(ca);
    await expect(
      openCertificateAuthority({ certPem: leaf.certPem, keyPem: leaf.keyPem }),
    ).rejects.toThrow(/is not a CA/);
    await expect(openCertificateAuthority({ ...ca, certPem: 'junk' })).rejects.toThrow(
      /not a PEM certificate/,
    );
  });
});

describe('a client certificate', () => {
  it('is for clientAuth with digitalSignature and keyEncipherment, signed by the CA', async () => {
    const issued = await issueClientCertificate(ca);
    const cert = new x509.X509Certificate(issued.certPem);
    expect(cert.subject).toBe('O=Kumo, CN=kumo-controller');
    expect(issued.dn).toBe('O=Kumo,CN=kumo-controller');
    expect(cert.issuer).toBe('O=Kumo, CN=Test CA');
    const bc = ext(cert, x509.BasicConstraintsExtension);
    expect([bc.ca, bc.critical]).toEqual([false, true]);
    const ku = ext(cert, x509.KeyUsagesExtension);
    expect(ku.usages).toBe(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    );
    expect(ku.critical).toBe(true);
    expect(ext(cert, x509.ExtendedKeyUsageExtension).usages).toEqual([
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)).toBeNull();
    const caSki = ext(new x509.X509Certificate(ca.certPem), x509.SubjectKeyIdentifierExtension);
    expect(ext(cert, x509.AuthorityKeyIdentifierExtension).keyId).toBe(caSki.keyId);
    expect(ext(cert, x509.SubjectKeyIdentifierExtension).keyId).not.toBe(caSki.keyId);

    const node = new X509Certificate(issued.certPem);
    expect(node.verify(caNode.publicKey)).toBe(true);
    expect(node.checkIssued(caNode)).toBe(true);
    expect(node.ca).toBe(false);
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(node.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    const chain = await new x509.X509ChainBuilder({
      certificates: [new x509.X509Certificate(ca.certPem)],
    }).build(cert);
    expect(chain.map((c) => c.subject)).toEqual([
      'O=Kumo, CN=kumo-controller',
      'O=Kumo, CN=Test CA',
    ]);
    expect(await cert.verify({ publicKey: new x509.X509Certificate(ca.certPem).publicKey })).toBe(
      true,
    );
  });

  it('takes the CN, the O or a whole subject, and inherits the CA O by default', async () => {
    const named = await issueClientCertificate(ca, { commonName: 'ops' });
    expect(named.dn).toBe('O=Kumo,CN=ops');
    const org = await issueClientCertificate(ca, { organization: 'Ops Team' });
    expect(org.dn).toBe('O=Ops Team,CN=kumo-controller');
    const full = await issueClientCertificate(ca, {
      subject: [
        ['C', 'JP'],
        ['ST', 'Tokyo'],
        ['O', 'The University of Tokyo'],
        ['CN', 'mycontroller'],
      ],
    });
    expect(full.dn).toBe('C=JP,ST=Tokyo,O=The University of Tokyo,CN=mycontroller');
    const bare = await createCertificateAuthority({ subject: [['CN', 'Bare CA']] });
    expect((await issueClientCertificate(bare)).dn).toBe('CN=kumo-controller');
  });

  it('gets random, positive 16-byte serial numbers', async () => {
    const certs = await Promise.all(Array.from({ length: 20 }, () => issueClientCertificate(ca)));
    const serials = certs.map((c) => serialBytes(new X509Certificate(c.certPem)));
    for (const s of [...serials, serialBytes(caNode)]) {
      expect(s.length).toBe(16);
      expect(s[0]).toBeLessThan(0x80);
    }
    expect(new Set(serials.map((s) => s.toString('hex'))).size).toBe(20);
  });

  it('can be made expired: notAfter in the past, refused by a verifier at the current time', async () => {
    const expired = await issueClientCertificate(ca, {
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2020-01-02T00:00:00Z'),
    });
    const node = new X509Certificate(expired.certPem);
    expect(new Date(node.validTo).getTime()).toBeLessThan(Date.now());
    expect(node.validToDate.toISOString()).toBe('2020-01-02T00:00:00.000Z');
    expect(node.verify(caNode.publicKey)).toBe(true);
    const cert = new x509.X509Certificate(expired.certPem);
    const caPublicKey = new x509.X509Certificate(ca.certPem).publicKey;
    expect(await cert.verify({ publicKey: caPublicKey })).toBe(false);
    expect(
      await cert.verify({ publicKey: caPublicKey, date: new Date('2020-01-01T12:00:00Z') }),
    ).toBe(true);
  });

  it('ends no later than its CA unless told otherwise', async () => {
    const shortCa = await createCertificateAuthority({ validityDays: 30 });
    const leaf = new X509Certificate((await issueClientCertificate(shortCa)).certPem);
    expect(leaf.validToDate.getTime()).toBe(
      new X509Certificate(shortCa.certPem).validToDate.getTime(),
    );
  });

  it('refuses bad validity and bad subjects with a reason', async () => {
    await expect(
      issueClientCertificate(ca, {
        notBefore: new Date('2030-01-02'),
        notAfter: new Date('2030-01-01'),
      }),
    ).rejects.toThrow(/must be after notBefore/);
    await expect(issueClientCertificate(ca, { validityDays: 0 })).rejects.toThrow(/positive/);
    await expect(issueClientCertificate(ca, { commonName: '' })).rejects.toThrow(/CN is empty/);
    await expect(issueClientCertificate(ca, { subject: [['C', 'Japan']] })).rejects.toThrow(
      /two capital letters/,
    );
    await expect(issueClientCertificate(ca, { commonName: 'a\nb' })).rejects.toThrow(
      /control character/,
    );
  });

  it('self-signed: same subject, its own issuer, not verifiable with the CA key', async () => {
    const self = await selfSignedClientCertificate({
      subject: [
        ['O', 'Kumo'],
        ['CN', 'kumo-controller'],
      ],
    });
    const node = new X509Certificate(self.certPem);
    expect(self.dn).toBe('O=Kumo,CN=kumo-controller');
    expect(node.issuer).toBe(node.subject);
    expect(node.ca).toBe(false);
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.verify(caNode.publicKey)).toBe(false);
    expect(node.checkIssued(caNode)).toBe(false);
  });
});

describe('a server certificate', () => {
  async function server(address: string, altNames?: string[]) {
    const issued = await issueServerCertificate(ca, { address, altNames });
    return {
      issued,
      node: new X509Certificate(issued.certPem),
      cert: new x509.X509Certificate(issued.certPem),
    };
  }

  it('for an IPv4 address: CN and an IP subjectAltName, serverAuth, signed by the CA', async () => {
    const { issued, node, cert } = await server('10.213.0.11', ['hv1']);
    expect(issued.dn).toBe('O=Kumo,CN=10.213.0.11');
    expect(node.subjectAltName).toBe('IP Address:10.213.0.11, DNS:hv1');
    expect(node.checkIP('10.213.0.11')).toBe('10.213.0.11');
    expect(node.checkHost('hv1')).toBe('hv1');
    expect(node.checkIP('10.213.0.12')).toBeUndefined();
    expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(node.verify(caNode.publicKey)).toBe(true);
    expect(ext(cert, x509.ExtendedKeyUsageExtension).usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    const ku = ext(cert, x509.KeyUsagesExtension);
    expect(ku.usages).toBe(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    );
    expect(ext(cert, x509.BasicConstraintsExtension).ca).toBe(false);
    expect(ext(cert, x509.SubjectAlternativeNameExtension).names.toJSON()).toEqual([
      { type: 'ip', value: '10.213.0.11' },
      { type: 'dns', value: 'hv1' },
    ]);
  });

  it('for a DNS name: CN and a DNS subjectAltName', async () => {
    const { issued, node } = await server('HV1.Example.com');
    expect(issued.dn).toBe('O=Kumo,CN=hv1.example.com');
    expect(node.subjectAltName).toBe('DNS:hv1.example.com');
    expect(node.checkHost('hv1.example.com')).toBe('hv1.example.com');
  });

  it('for an IPv6 address, bracketed or not', async () => {
    const { issued, node } = await server('[fd00::11]', ['fd00::12']);
    expect(issued.dn).toBe('O=Kumo,CN=fd00::11');
    expect(node.checkIP('fd00::11')).toBe('fd00::11');
    expect(node.checkIP('fd00::12')).toBe('fd00::12');
  });

  it('refuses addresses that are neither an IP address nor a DNS name', async () => {
    for (const bad of ['', '  ', '10.0.0.256', '1.2.3', 'bad host', 'a..b', '-x.example', 'x_y']) {
      await expect(issueServerCertificate(ca, { address: bad }), bad).rejects.toThrow(
        /IP address|DNS name|empty/,
      );
    }
    expect(parseHostAddress('hv-1.rig.')).toEqual({ kind: 'dns', value: 'hv-1.rig' });
    expect(parseHostAddress('::1')).toEqual({ kind: 'ip', value: '::1' });
  });
});

describe('keys', () => {
  it('signs with CA keys made elsewhere: SEC1 EC and PKCS#1 RSA PEM', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const [pem, name] of [
      [ec.privateKey.export({ format: 'pem', type: 'sec1' }), 'ECDSA'],
      [rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }), 'RSASSA-PKCS1-v1_5'],
    ] as const) {
      const key = await privateKeyFromPem(String(pem));
      expect(key.algorithm.name).toBe(name);
      const sig = await crypto.subtle.sign(key.algorithm, key.key, new Uint8Array([1, 2, 3]));
      expect(sig.byteLength).toBeGreaterThan(0);
    }
    await expect(privateKeyFromPem('nope')).rejects.toThrow(/not a PEM private key/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
    await expect(privateKeyFromPem(String(ed))).rejects.toThrow(/ed25519 keys are unsupported/);
  });

  it('are fast: a CA and ten leaf certificates in well under a second', async () => {
    const started = performance.now();
    const fresh: CertificateAuthority = await createCertificateAuthority();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        issueServerCertificate(fresh, { address: `10.9.0.${i + 1}` }),
      ),
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
