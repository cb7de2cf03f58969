import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { pauseLibvirtd, resumeLibvirtd, startLibvirtd, stopLibvirtd } from '../rig/index.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { rejection, within } from '../support/wait.ts';

function tlsWith(
  pkipath: string,
  host = rigHost('hv1').ip,
  port = 16514,
): Promise<LibvirtConnection> {
  return LibvirtConnection.open(`qemu+tls://${host}:${port}/system?pkipath=${pkipath}`, {
    timeoutMs: 5000,
  });
}

describe('TLS credentials that must be refused', () => {
  it.each([
    ['a CA that did not sign the server', 'wrongCa', /not trusted/],
    ['an expired client certificate', 'expired', /refused this client's certificate/],
    ['a client certificate no CA signed', 'selfSigned', /refused this client's certificate/],
    ['a client DN outside tls_allowed_dn_list', 'wrongDn', /refused this client's certificate/],
  ] as const)('%s', async (_what, fixture, message) => {
    const err = await within(rejection(tlsWith(rig().pki.bad[fixture])), 8000, 'the refusal');
    expect(err).toMatchObject({ name: 'LibvirtError', kind: 'tls' });
    expect(String(err)).toMatch(message);
  });
});

describe('SSH that must be refused', () => {
  it('a host key other than the pinned one', async () => {
    const h = rigHost('hv1');
    const pinned = `SHA256:${Buffer.alloc(32, 1).toString('base64').replace(/=+$/, '')}`;
    const err = await within(
      rejection(LibvirtConnection.open(h.sshUri, { ssh: { hostKeys: [pinned] }, timeoutMs: 5000 })),
      8000,
      'refusal',
    );
    expect(err).toMatchObject({ kind: 'ssh' });
    expect(String(err)).toContain(h.sshHostKeyFingerprint);
  });

  it('a client key the host does not authorize', async () => {
    const h = rigHost('hv1');
    const stranger = utils.generateKeyPairSync('ed25519').private;
    const err = await within(
      rejection(
        LibvirtConnection.open(`qemu+ssh://root@${h.ip}/system`, {
          ssh: { privateKey: stranger, hostKeys: [h.sshHostKeyFingerprint] },
          timeoutMs: 5000,
        }),
      ),
      8000,
      'refusal',
    );
    expect(err).toMatchObject({ kind: 'ssh' });
    expect(String(err)).toMatch(/authentication/);
  });
});

describe('hosts that cannot be reached', () => {
  it('an address where nothing answers fails within the connect timeout', async () => {
    const started = Date.now();
    const err = await within(
      rejection(
        LibvirtConnection.open(
          `qemu+tls://${rig().unreachableIp}/system?pkipath=${rig().pki.clientDir}`,
          { timeoutMs: 1500 },
        ),
      ),
      6000,
      'the failure',
    );
    expect(err).toMatchObject({ kind: 'transport' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a port where nothing listens is refused', async () => {
    const err = await rejection(tlsWith(rig().pki.clientDir, rigHost('hv1').ip, 1));
    expect(err).toMatchObject({ kind: 'transport' });
    expect(String(err)).toMatch(/refused/);
  });
});

// hv3 is reserved for these tests: its daemon is stopped and restarted under them.
describe.sequential('a daemon that dies or hangs (hv3)', () => {
  it('killed with calls in flight and queued: every call fails as closed, none hangs', async () => {
    const h = rigHost('hv3');
    const conn = await openTls(h, { keepalive: false });
    try {
      await pauseLibvirtd(h);
      const calls = Array.from({ length: 12 }, () => rejection(conn.host.hostname()));
      await stopLibvirtd(h, 'SIGKILL');
      const errs = await within(Promise.all(calls), 5000, 'the in-flight calls');
      for (const e of errs) expect(e).toMatchObject({ name: 'LibvirtError', kind: 'closed' });
      expect(await within(conn.closed, 1000, 'closed')).toMatchObject({ kind: 'closed' });
      expect(await rejection(conn.host.hostname())).toMatchObject({ kind: 'closed' });
    } finally {
      await startLibvirtd(h);
    }
    const again = await openTls(h);
    expect(await again.host.hostname()).toBe(h.hostname);
    await again.close();
  });

  it('hung (stopped, socket open): keepalive declares it dead and fails the call', async () => {
    const h = rigHost('hv3');
    const conn = await openTls(h, { keepalive: { intervalMs: 200, count: 3 } });
    try {
      await pauseLibvirtd(h);
      const started = Date.now();
      const err = await within(rejection(conn.host.hostname()), 5000, 'the hung call');
      expect(err).toMatchObject({ name: 'LibvirtError', kind: 'keepalive' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await resumeLibvirtd(h);
    }
    const again = await openTls(h);
    expect(await again.host.hostname()).toBe(h.hostname);
    await again.close();
  });

  it('a call with a timeout fails as timeout while the connection stays up', async () => {
    const h = rigHost('hv3');
    const conn = await openTls(h, { keepalive: false, callTimeoutMs: 300 });
    try {
      await pauseLibvirtd(h);
      const err = await within(rejection(conn.host.hostname()), 3000, 'the timed-out call');
      expect(err).toMatchObject({ kind: 'timeout' });
      expect(conn.isOpen).toBe(true);
    } finally {
      await resumeLibvirtd(h);
    }
    expect(await conn.remote.connectGetHostname({ timeoutMs: 5000 }).then((r) => r.hostname)).toBe(
      h.hostname,
    );
    await conn.close();
  });
});
