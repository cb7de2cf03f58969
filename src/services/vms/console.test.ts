import { describe, expect, it } from 'vitest';
import { consoleStream } from '../../../test/support/console-stream.ts';
import type { SessionId, UserId, VmId } from '../../entities/ids.ts';
import { ConsoleHub } from './console-hub.ts';
import { MemoryConsoleTickets } from './console-tickets.ts';
import { domainTypeOf } from './vm-domain.ts';

const vmId = 'vm-1' as VmId;
const actor = {
  userId: 'u' as UserId,
  sessionId: 's' as SessionId,
  isAdmin: false,
  address: '127.0.0.1',
};

describe('console tickets', () => {
  it('work once, for their VM and actor, until they expire', async () => {
    let now = 1_000_000;
    const tickets = new MemoryConsoleTickets(30, () => now);
    const { ticket, expiresAt } = await tickets.issue({ kind: 'display', vmId, actor });
    expect(ticket).toMatch(/^kumo_[A-Za-z0-9_-]{43}$/);
    expect(expiresAt.getTime()).toBe(now + 30_000);
    expect(await tickets.redeem(ticket)).toEqual({ kind: 'display', vmId, actor });
    expect(await tickets.redeem(ticket)).toBeNull();
    const late = (await tickets.issue({ kind: 'serial', vmId, actor })).ticket;
    now += 30_000;
    expect(await tickets.redeem(late)).toBeNull();
    expect(await tickets.redeem('kumo_made-up')).toBeNull();
  });
});

describe('the console hub', () => {
  it('shares one stream among its taps, opened with the first and closed with the last', async () => {
    const hub = new ConsoleHub();
    const c = consoleStream();
    let opens = 0;
    const open = async () => {
      opens++;
      return c.stream;
    };
    const [a, b] = await Promise.all([hub.tap(vmId, open), hub.tap(vmId, open)]);
    expect(opens).toBe(1);
    const seen = { a: '', b: '' };
    a?.output.on('data', (d: Buffer) => (seen.a += d));
    b?.output.on('data', (d: Buffer) => (seen.b += d));
    c.guest.write('login: ');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual({ a: 'login: ', b: 'login: ' });
    a?.write(Buffer.from('root\r'));
    expect(Buffer.concat(c.typed).toString()).toBe('root\r');
    a?.end();
    expect(await a?.ended).toBe('CLOSED');
    expect(c.stream.destroyed).toBe(false);
    b?.end();
    expect(c.stream.destroyed).toBe(true);
    // The next tap opens the console again.
    const d = consoleStream();
    const again = await hub.tap(vmId, async () => d.stream);
    expect(again).toBeDefined();
    d.guest.end();
    expect(await again.ended).toBe('ENDED');
  });

  it('drops a tap that stops reading, and only that one', async () => {
    const hub = new ConsoleHub();
    const c = consoleStream();
    const slow = await hub.tap(vmId, async () => c.stream);
    const fast = await hub.tap(vmId, async () => c.stream);
    let got = 0;
    fast.output.on('data', (d: Buffer) => (got += d.length));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 20; i++) c.guest.write(chunk);
    await new Promise((r) => setImmediate(r));
    expect(await slow.ended).toBe('TOO_SLOW');
    expect(got).toBe(20 * chunk.length);
    fast.end();
  });
});

describe('domain types', () => {
  it('follow the host acceleration setting', () => {
    expect(domainTypeOf('AUTO', true)).toBe('kvm');
    expect(domainTypeOf('AUTO', false)).toBe('qemu');
    expect(domainTypeOf('TCG', true)).toBe('qemu');
    expect(domainTypeOf('KVM', true)).toBe('kvm');
  });
});
