import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverRegistry } from '../../src/drivers/registry.ts';
import { dirPoolXml } from '../../src/libvirt/xml/storage.ts';
import { HostMonitor } from '../../src/services/hosts/host-monitor.ts';
import type { HostMetricsSample, HostStateChange } from '../../src/services/hosts/types.ts';
import { pkiCredentials, sshCredentials, sshUri, tlsUri } from '../drivers/rig-credentials.ts';
import { openTls, rigHost } from '../support/rig.ts';
import { rejection, until } from '../support/wait.ts';
import { nextFacts, nextState } from './wait-state.ts';

// Admin states, metrics and bad settings: the hosts' daemons are never touched here, so the
// shared hosts hv1 and hv2 serve.
let monitor: HostMonitor;
const changes: HostStateChange[] = [];

beforeAll(async () => {
  monitor = new HostMonitor(DriverRegistry.withBuiltins(), {
    backoff: { initialMs: 50, maxMs: 400 },
  });
  monitor.on('stateChanged', (e) => changes.push(e));
  const online = [
    nextState(monitor, 'hv1', 'ONLINE', 20_000),
    nextState(monitor, 'hv2', 'ONLINE', 20_000),
  ];
  monitor.add({ id: 'hv1', uri: tlsUri(rigHost('hv1')), credentials: pkiCredentials() });
  monitor.add({
    id: 'hv2',
    uri: sshUri(rigHost('hv2')),
    credentials: sshCredentials(rigHost('hv2')),
  });
  await Promise.all(online);
});

afterAll(async () => {
  await monitor?.close();
});

function failedOnce(hostId: string, times: number): () => Promise<true | undefined> {
  return async () => (monitor.status(hostId).failures >= times ? true : undefined);
}

describe.sequential('admin states', () => {
  it('MAINTENANCE keeps the session but takes the host out of placement', async () => {
    expect(monitor.placeableHosts().sort()).toEqual(['hv1', 'hv2']);
    await monitor.setAdminState('hv1', 'MAINTENANCE', 'kernel update');
    expect(changes.at(-1)).toMatchObject({
      hostId: 'hv1',
      state: 'MAINTENANCE',
      previous: 'ONLINE',
      reason: 'kernel update',
    });
    const s = monitor.status('hv1');
    expect(s).toMatchObject({ connected: true, placeable: false, admin: { state: 'MAINTENANCE' } });
    expect(monitor.placeableHosts()).toEqual(['hv2']);
    // VMs can still be moved off: the session works.
    expect(await monitor.session('hv1')?.connection.host.hostname()).toBe(rigHost('hv1').hostname);
    // A session lost meanwhile is told (a migration off the host needs to know), though the
    // held state does not change; the monitor reconnects by itself.
    const lost = new Promise<string>((resolve) => {
      const off = monitor.on('sessionLost', (e) => {
        off();
        resolve(e.hostId);
      });
    });
    const before = changes.length;
    await monitor.session('hv1')?.close();
    expect(await lost).toBe('hv1');
    expect(changes.slice(before)).toEqual([]);
    await until(
      async () => (monitor.session('hv1')?.isOpen ? true : undefined),
      20_000,
      'hv1 back',
    );
    await monitor.setAdminState('hv1', null);
    expect(monitor.status('hv1')).toMatchObject({ state: 'ONLINE', placeable: true, admin: null });
  });

  it('DISABLED closes the session and does not reconnect; enabling reconnects', async () => {
    const session = monitor.session('hv2');
    await monitor.setAdminState('hv2', 'DISABLED', 'retired');
    expect(session?.isOpen).toBe(false);
    // No attempt is scheduled at all (nextAttemptAt null), rather than one merely not due yet.
    expect(monitor.status('hv2')).toMatchObject({
      state: 'DISABLED',
      reason: 'retired',
      connected: false,
      nextAttemptAt: null,
    });
    expect(monitor.session('hv2')).toBeNull();
    expect(await rejection(monitor.metrics('hv2'))).toMatchObject({
      name: 'HostMonitorError',
      code: 'NOT_CONNECTED',
    });
    const online = nextState(monitor, 'hv2', 'ONLINE', 20_000);
    await monitor.setAdminState('hv2', null);
    await online;
  });

  it('a host added DISABLED is not connected at all', async () => {
    monitor.add({
      id: 'hv1-off',
      uri: tlsUri(rigHost('hv1')),
      credentials: pkiCredentials(),
      admin: { state: 'DISABLED', reason: 'not yet racked' },
    });
    expect(monitor.status('hv1-off')).toMatchObject({ state: 'DISABLED', connected: false });
    await monitor.remove('hv1-off');
    expect(() => monitor.status('hv1-off')).toThrow(/no host hv1-off is monitored/);
  });
});

describe('metrics', () => {
  it('metrics(hostId) gives sane numbers', async () => {
    const m = await monitor.metrics('hv1');
    expect(m.cpu.usage).toBeGreaterThanOrEqual(0);
    expect(m.cpu.usage).toBeLessThanOrEqual(1);
    expect(m.memory.usedBytes).toBeGreaterThan(0);
    expect(m.memory.usedBytes).toBeLessThan(m.memory.totalBytes);
  });

  it('a metrics feed yields samples of every connected host until the reader stops', async () => {
    const feed = monitor.metricsFeed({ intervalMs: 200 });
    const seen: HostMetricsSample[] = [];
    for await (const sample of feed) {
      seen.push(sample);
      if (seen.length >= 6) break;
    }
    expect(new Set(seen.map((s) => s.hostId))).toEqual(new Set(['hv1', 'hv2']));
    for (const s of seen) expect(s.metrics.cpu.usage).toBeLessThanOrEqual(1);
    // break called return(): the feed is over.
    expect(await feed.next()).toEqual({ value: undefined, done: true });
  });

  it('a feed can be limited to some hosts', async () => {
    const feed = monitor.metricsFeed({ intervalMs: 100, hostIds: ['hv2'] });
    const a = await feed.next();
    const b = await feed.next();
    feed.end();
    expect([a.value?.hostId, b.value?.hostId]).toEqual(['hv2', 'hv2']);
  });
});

describe('bad settings', () => {
  it('an unpinned SSH host key: OFFLINE with the key to confirm, no retries; pinning it connects', async () => {
    const h = rigHost('hv2');
    monitor.add({ id: 'hv2-new', uri: sshUri(h), credentials: sshCredentials(h, null) });
    await until(failedOnce('hv2-new', 1), 20_000, 'the first attempt to fail');
    const s = monitor.status('hv2-new');
    expect(s).toMatchObject({ state: 'OFFLINE', connected: false, nextAttemptAt: null });
    expect(s.lastError).toMatchObject({
      code: 'HOST_KEY_UNKNOWN',
      hostKey: h.sshHostKeyFingerprint,
    });
    const online = nextState(monitor, 'hv2-new', 'ONLINE', 20_000);
    await monitor.update({ id: 'hv2-new', uri: sshUri(h), credentials: sshCredentials(h) });
    await online;
    await monitor.remove('hv2-new');
  });

  it('a host that refuses connections is retried with backoff', async () => {
    monitor.add({
      id: 'nowhere',
      // Port 1: refused at once, so retries come quickly.
      uri: `qemu+tls://${rigHost('hv1').ip}:1/system`,
      credentials: pkiCredentials(),
    });
    await until(failedOnce('nowhere', 3), 20_000, 'three attempts to fail');
    const s = monitor.status('nowhere');
    expect(s.failures).toBeGreaterThanOrEqual(3);
    expect(s.state).toBe('OFFLINE');
    expect(s.lastError?.code).toBe('UNREACHABLE');
    expect(s.nextAttemptAt).not.toBeNull();
    await monitor.remove('nowhere');
  });

  it('refuses duplicate and unknown ids', async () => {
    expect(() =>
      monitor.add({ id: 'hv1', uri: tlsUri(rigHost('hv1')), credentials: pkiCredentials() }),
    ).toThrow(expect.objectContaining({ code: 'DUPLICATE_HOST' }));
    await expect(monitor.setAdminState('nope', 'DISABLED')).rejects.toMatchObject({
      code: 'UNKNOWN_HOST',
    });
  });
});

describe('close', () => {
  it('reads a connected host’s facts again on its own: storage made later shows', async () => {
    const pool = `facts-probe-${process.pid}`;
    const m = new HostMonitor(DriverRegistry.withBuiltins(), { factsRefreshMs: 200 });
    const conn = await openTls(rigHost('hv1'));
    try {
      const online = nextState(m, 'p', 'ONLINE', 20_000);
      m.add({
        id: 'p',
        uri: tlsUri(rigHost('hv1')),
        credentials: pkiCredentials(),
        storagePool: pool,
      });
      await online;
      expect(m.status('p').facts?.storage).toMatchObject({ pool, pools: 0, capacityBytes: 0 });
      const made = await conn.storage.definePool(dirPoolXml(pool, `/var/lib/libvirt/${pool}`));
      try {
        await conn.storage.buildPool(made);
        await conn.storage.startPool(made);
        const seen = await nextFacts(m, 'p', 5000);
        expect(seen.facts.storage).toMatchObject({ pool, pools: 1 });
        expect(seen.facts.storage.capacityBytes).toBeGreaterThan(0);
      } finally {
        await conn.storage.stopPool(made).catch(() => undefined);
        // Its directory too: the rig host is shared by every run.
        await conn.remote.storagePoolDelete({ pool: made, flags: 0 });
        await conn.storage.undefinePool(made);
      }
    } finally {
      await m.close();
      await conn.close();
    }
  });

  it('closes every session and refuses further use', async () => {
    const m = new HostMonitor(DriverRegistry.withBuiltins());
    const online = nextState(m, 'x', 'ONLINE', 20_000);
    m.add({ id: 'x', uri: tlsUri(rigHost('hv1')), credentials: pkiCredentials() });
    await online;
    const session = m.session('x');
    const feed = m.metricsFeed({ intervalMs: 100 });
    await m.close();
    expect(session?.isOpen).toBe(false);
    expect(await feed.next()).toMatchObject({ done: true });
    expect(() => m.status('x')).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});
