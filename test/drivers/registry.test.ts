import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import type { HostCredentials } from '../../src/drivers/credentials.ts';
import type { HypervisorDriver } from '../../src/drivers/driver.ts';
import { DriverError } from '../../src/drivers/errors.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { rig, rigHost } from '../support/rig.ts';
import { rejection } from '../support/wait.ts';
import { pemCredentials, pkiCredentials, sshCredentials } from './rig-credentials.ts';

const FIXTURES = resolve(import.meta.dirname, '../fixtures');

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await rejection(p);
  expect(err).toBeInstanceOf(DriverError);
  return (err as DriverError).code;
}

describe('the registry picks a driver by URI scheme', () => {
  const registry = DriverRegistry.withBuiltins();

  it.each([
    ['qemu+tls://host.example/system', 'kvm-tls'],
    ['QEMU+TLS://host.example/system', 'kvm-tls'],
    ['qemu+ssh://root@host.example:2222/system', 'kvm-ssh'],
    ['qemu:///system', 'kvm-local'],
    ['qemu+unix:///system?socket=/run/x', 'kvm-local'],
  ])('%s → %s', (uri, name) => {
    expect(registry.forUri(uri).name).toBe(name);
  });

  it('declares what differs: transport-bound capabilities and credential kinds', () => {
    const by = (n: string) => registry.drivers().find((d) => d.name === n) as HypervisorDriver;
    expect(by('kvm-tls').credentialKinds).toEqual(['tls', 'tls-pki']);
    expect(by('kvm-ssh').credentialKinds).toEqual(['ssh']);
    expect(by('kvm-ssh').capabilities.has('hostKeyProbe')).toBe(true);
    expect(by('kvm-tls').capabilities.has('hostKeyProbe')).toBe(false);
    expect(by('kvm-local').capabilities.has('liveMigration')).toBe(false);
    for (const d of registry.drivers()) expect(d.capabilities.has('kvm')).toBe(true);
  });

  it('refuses an unknown scheme, naming the ones it knows', async () => {
    const err = await rejection(registry.validate('xen+tls://h/system', { kind: 'none' }));
    expect(err).toMatchObject({ name: 'DriverError', code: 'UNSUPPORTED_SCHEME' });
    expect(String(err)).toMatch(
      /no driver serves the scheme xen\+tls; known schemes: qemu, qemu\+ssh/,
    );
  });

  it.each([
    ['not a URI', 'host.example', { kind: 'none' }, /not a hypervisor URI/],
    ['the plain tcp transport', 'qemu+tcp://h/system', { kind: 'none' }, /unsupported|tcp/],
    ['no_verify', 'qemu+tls://h/system?no_verify=1', pkiCredentials(), /no_verify is refused/],
    [
      'a key path in the URI',
      'qemu+tls://h/system?pkipath=/x',
      pkiCredentials(),
      /pkipath=.*credentials/,
    ],
    ['the session daemon', 'qemu+tls://h/session', pkiCredentials(), /path must be \/system/],
    [
      'a remote host on the local driver',
      'qemu://h/system',
      { kind: 'none' },
      /over unix, not tls/,
    ],
  ] as const)('refuses %s as INVALID_URI', async (_what, uri, creds, message) => {
    const err = await rejection(registry.validate(uri, creds as HostCredentials));
    // qemu+tcp has no driver at all: either refusal is clear.
    expect(['INVALID_URI', 'UNSUPPORTED_SCHEME']).toContain((err as DriverError).code);
    expect(String(err)).toMatch(message);
  });
});

describe('credentials are checked before any connection, and never echoed', () => {
  const registry = DriverRegistry.withBuiltins();
  const h = () => rigHost('hv1');

  it('accepts good TLS (PEM and PKI directory) and SSH credentials', async () => {
    await registry.validate(`qemu+tls://${h().ip}/system`, pemCredentials());
    await registry.validate(`qemu+tls://${h().ip}/system`, pkiCredentials());
    await registry.validate(`qemu+ssh://${h().ip}/system`, sshCredentials(h()));
    await registry.validate(`qemu+ssh://root@${h().ip}/system`, sshCredentials(h(), null));
  });

  it('refuses credentials of the wrong kind for the driver', async () => {
    expect(
      await codeOf(registry.validate(`qemu+tls://${h().ip}/system`, sshCredentials(h()))),
    ).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(registry.validate('qemu:///system', pkiCredentials()))).toBe(
      'INVALID_CREDENTIALS',
    );
  });

  it('refuses malformed PEM, a key of another certificate and an expired certificate', async () => {
    const good = pemCredentials();
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const uri = `qemu+tls://${h().ip}/system`;
    for (const [creds, message] of [
      [{ ...good, cert: 'garbage' }, /client certificate is not a PEM/],
      [{ ...good, key: 'garbage' }, /client key is not a readable/],
      [{ ...good, key: otherKey }, /does not belong to the client certificate/],
      [pemCredentials(rig().pki.bad.expired), /expired on/],
    ] as const) {
      const err = await rejection(registry.validate(uri, creds));
      expect(err).toMatchObject({ code: 'INVALID_CREDENTIALS' });
      expect(String(err)).toMatch(message);
      expect(String(err)).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses a PKI directory that is not one', async () => {
    const err = await rejection(
      registry.validate(`qemu+tls://${h().ip}/system`, pkiCredentials('/nonexistent/pki')),
    );
    expect(err).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect(String(err)).toMatch(/cannot read the CA certificate at \/nonexistent\/pki\/cacert.pem/);
  });

  it('refuses unusable SSH keys, fingerprints and user mismatches', async () => {
    const base = sshCredentials(h());
    const encrypted = ssh2.utils.generateKeyPairSync('ed25519', {
      passphrase: 'secret',
      cipher: 'aes256-cbc',
      rounds: 16,
    });
    const uri = `qemu+ssh://${h().ip}/system`;
    for (const [creds, message, u] of [
      [{ ...base, privateKey: 'garbage' }, /SSH private key cannot be used/, uri],
      [{ ...base, privateKey: encrypted.private }, /Encrypted/, uri],
      [{ ...base, privateKey: encrypted.public }, /public key/, uri],
      [{ ...base, hostKey: 'md5:aa:bb' }, /fingerprint must look like SHA256/, uri],
      [{ ...base, user: 'root; rm -rf /' }, /plain user name/, uri],
      [
        base,
        /names user admin but the credentials are for root/,
        `qemu+ssh://admin@${h().ip}/system`,
      ],
    ] as const) {
      const err = await rejection(registry.validate(u, creds));
      expect(err).toMatchObject({ code: 'INVALID_CREDENTIALS' });
      expect(String(err)).toMatch(message);
      expect(String(err)).not.toContain(base.privateKey.split('\n')[1] as string);
    }
  });
});

describe('driver packages', () => {
  it('loads a package by path or file: URL and registers its scheme', async () => {
    const dir = resolve(FIXTURES, 'kumo-driver-libvirt-test');
    for (const spec of [dir, pathToFileURL(dir).href]) {
      const registry = DriverRegistry.withBuiltins();
      const [driver] = await registry.loadPackages([spec]);
      expect(driver?.name).toBe('libvirt-test');
      expect(registry.forUri('test+tls://h/default')).toBe(driver);
      expect(registry.schemes()).toContain('test+tls');
    }
  });

  it.each([
    ['kumo-driver-does-not-exist', /driver package kumo-driver-does-not-exist: not found/],
    [resolve(FIXTURES, 'no-such-dir'), /no-such-dir: not found/],
    [resolve(FIXTURES, 'kumo-driver-broken'), /kumo-driver-broken: exports no driver factory/],
  ])('refuses %s, naming it and what is wrong', async (name, message) => {
    const err = await rejection(DriverRegistry.withBuiltins().loadPackages([name]));
    expect(err).toMatchObject({ name: 'DriverError', code: 'DRIVER_LOAD_FAILED' });
    expect(String(err)).toMatch(message);
  });

  it('refuses a second driver for a scheme, naming both', async () => {
    const registry = DriverRegistry.withBuiltins();
    const dir = resolve(FIXTURES, 'kumo-driver-libvirt-test');
    await registry.loadPackages([dir]);
    const err = await rejection(registry.loadPackages([dir]));
    expect(err).toMatchObject({ code: 'DRIVER_LOAD_FAILED' });
    expect(String(err)).toMatch(/wants the scheme test\+tls, already served by libvirt-test/);
    const kvm = registry.forScheme('qemu+tls') as HypervisorDriver;
    expect(() => registry.register({ ...kvm, name: 'impostor' })).toThrow(
      /impostor wants the scheme qemu\+tls, already served by kvm-tls \(built in\)/,
    );
  });
});
