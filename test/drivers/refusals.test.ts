import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import type { HostCredentials } from '../../src/drivers/credentials.ts';
import { DriverError, type DriverErrorCode } from '../../src/drivers/errors.ts';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { rig, rigHost } from '../support/rig.ts';
import { rejection, within } from '../support/wait.ts';
import {
  pemCredentials,
  pkiCredentials,
  sshCredentials,
  sshUri,
  tlsUri,
} from './rig-credentials.ts';

const registry = DriverRegistry.withBuiltins();

async function refusal(uri: string, credentials: HostCredentials): Promise<DriverError> {
  const err = await within(
    rejection(registry.connect({ uri, credentials, timeoutMs: 4000 })),
    8000,
    'the refusal',
  );
  expect(err).toBeInstanceOf(DriverError);
  return err as DriverError;
}

function expectSecretsAbsent(err: DriverError, creds: HostCredentials): void {
  const text = `${err.message} ${String(err.cause)}`;
  if (creds.kind === 'ssh') expect(text).not.toContain(creds.privateKey.split('\n')[1] as string);
  if (creds.kind === 'tls') expect(text).not.toContain(creds.key.split('\n')[1] as string);
}

describe('wrong TLS credentials are refused with the right code', () => {
  it.each([
    [
      'a CA that did not sign the host',
      'wrongCa',
      'TLS_UNTRUSTED',
      /not trusted.*check that the CA/,
    ],
    [
      'a client certificate no trusted CA signed',
      'selfSigned',
      'AUTH_FAILED',
      /refused this client's certificate/,
    ],
    ['a client DN the host does not allow', 'wrongDn', 'AUTH_FAILED', /tls_allowed_dn_list/],
    [
      'an expired client certificate (caught before dialing)',
      'expired',
      'INVALID_CREDENTIALS',
      /expired on/,
    ],
  ] as const)('%s → %s', async (_what, fixture, code: DriverErrorCode, message) => {
    const creds = pemCredentials(rig().pki.bad[fixture]);
    const err = await refusal(tlsUri(rigHost('hv1')), creds);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(rigHost('hv1').ip);
    expectSecretsAbsent(err, creds);
  });

  it('an address where nothing listens → UNREACHABLE, within the timeout', async () => {
    const started = Date.now();
    const err = await refusal(`qemu+tls://${rig().unreachableIp}/system`, pkiCredentials());
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toMatch(/check that the host is up/);
    expect(Date.now() - started).toBeLessThan(6000);
  });
});

describe('SSH host keys and keys are checked', () => {
  it('a wrong pinned host key → HOST_KEY_MISMATCH, showing the offered key', async () => {
    const h = rigHost('hv2');
    const wrong = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const creds = sshCredentials(h, wrong);
    const err = await refusal(sshUri(h), creds);
    expect(err.code).toBe('HOST_KEY_MISMATCH');
    expect(err.hostKey).toBe(h.sshHostKeyFingerprint);
    expect(err.message).toContain(wrong);
    expectSecretsAbsent(err, creds);
  });

  it('no pinned host key → HOST_KEY_UNKNOWN, carrying the key to confirm', async () => {
    const h = rigHost('hv2');
    const err = await refusal(sshUri(h), sshCredentials(h, null));
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.hostKey).toBe(h.sshHostKeyFingerprint);
    expect(err.message).toMatch(/no host key is pinned; the host offers ssh-ed25519 SHA256:/);
  });

  it('a key the host does not authorize → AUTH_FAILED', async () => {
    const h = rigHost('hv2');
    const creds = {
      ...sshCredentials(h),
      privateKey: ssh2.utils.generateKeyPairSync('ed25519').private,
    };
    const err = await refusal(sshUri(h), creds);
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toMatch(/root@10\.213\.0\.\d+:22 failed: the key was not accepted/);
    expectSecretsAbsent(err, creds);
  });

  it('the host key probe returns the rig’s recorded fingerprint, without logging in', async () => {
    for (const name of ['hv1', 'hv2'] as const) {
      const h = rigHost(name);
      const probe = await registry.probeHostKey(sshUri(h), { timeoutMs: 5000 });
      expect(probe).toEqual({ fingerprint: h.sshHostKeyFingerprint, algorithm: 'ssh-ed25519' });
    }
  });

  it('probing where nothing answers, or a TLS host, fails clearly', async () => {
    const unreachable = await rejection(
      registry.probeHostKey(`qemu+ssh://${rig().unreachableIp}/system`, { timeoutMs: 1000 }),
    );
    expect(unreachable).toMatchObject({ code: 'UNREACHABLE' });
    const tls = await rejection(registry.probeHostKey(tlsUri(rigHost('hv1'))));
    expect(tls).toMatchObject({ code: 'UNSUPPORTED' });
  });
});
