// Console tickets over Redis: issued on one replica, redeemed once on any.
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { SessionId, UserId, VmId } from '../../src/entities/ids.ts';
import { hashToken } from '../../src/services/auth/tokens.ts';
import type { RedisLink } from '../../src/services/replicas/redis.ts';
import { RedisConsoleTickets } from '../../src/services/vms/console-tickets-redis.ts';
import { openReplicaLinks } from '../redis/links.ts';

const url = inject('redisUrl');

const vmId = 'vm-1' as VmId;
const actor = {
  userId: 'u-1' as UserId,
  sessionId: 's-1' as SessionId,
  isAdmin: true,
  address: '2001:db8::1',
};

describe.skipIf(url === null)('console tickets over Redis', () => {
  const links: RedisLink[] = [];
  afterEach(async () => {
    await Promise.all(links.splice(0).map((l) => l.close()));
  });

  async function pair(ttlSeconds: number) {
    const opened = await openReplicaLinks(url as string, 2);
    links.push(...opened);
    const [a, b] = opened.map((l) => new RedisConsoleTickets(l, ttlSeconds));
    if (!a || !b) throw new Error('two ticket stores expected');
    return [a, b] as const;
  }

  it('work once, on any replica, for their VM and actor, keeping only hashes', async () => {
    const [a, b] = await pair(30);
    const before = Date.now();
    const { ticket, expiresAt } = await a.issue({
      kind: 'display',
      vmId,
      actor: { ...actor, extra: 'x' } as never,
    });
    expect(ticket).toMatch(/^kumo_[A-Za-z0-9_-]{43}$/);
    expect(expiresAt.getTime()).toBeGreaterThanOrEqual(before + 30_000);
    const [link] = links;
    if (!link) throw new Error('a link expected');
    const key = `${link.prefix}console-ticket:${hashToken(ticket)}`;
    const stored = (await link.commands.get(key)) ?? '';
    expect(stored).not.toContain(ticket);
    expect(JSON.parse(stored)).toEqual({ kind: 'display', vmId, ...actor });
    expect(await b.redeem(ticket)).toEqual({ kind: 'display', vmId, actor });
    expect(await a.redeem(ticket)).toBeNull();
    expect(await b.redeem(ticket)).toBeNull();
    expect(await a.redeem('kumo_made-up')).toBeNull();
  });

  it('expire', async () => {
    const [a, b] = await pair(0.2);
    const { ticket } = await a.issue({ kind: 'serial', vmId, actor });
    await new Promise((r) => setTimeout(r, 300));
    expect(await b.redeem(ticket)).toBeNull();
  });

  it('refuse a grant that is not one', async () => {
    const [a] = await pair(30);
    const [link] = links;
    if (!link) throw new Error('a link expected');
    const ticket = 'kumo_forged';
    await link.commands.set(`${link.prefix}console-ticket:${hashToken(ticket)}`, '{"vmId":1}');
    await expect(a.redeem(ticket)).rejects.toThrow(/malformed grant/);
  });
});
