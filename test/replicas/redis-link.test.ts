// A controller's Redis connections: a clear error when Redis cannot be had, a clean close.
import { describe, expect, inject, it } from 'vitest';
import { openRedis } from '../../src/services/replicas/redis.ts';
import { freePort } from '../support/ports.ts';

const url = inject('redisUrl');

describe('the Redis link', () => {
  it('fails the start clearly when Redis cannot be reached', async () => {
    const port = await freePort('127.0.0.1');
    await expect(openRedis(`redis://:secret@127.0.0.1:${port}/0`)).rejects.toThrow(
      new RegExp(`^cannot connect to Redis at redis://127\\.0\\.0\\.1:${port}/0: .*ECONNREFUSED`),
    );
  });

  it.skipIf(url === null)('fails the start clearly on a wrong password', async () => {
    const wrong = new URL(url as string);
    wrong.password = 'wrong';
    const err = await openRedis(wrong.toString()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^cannot connect to Redis at .*WRONGPASS/);
    expect((err as Error).message).not.toContain('wrong@');
  });

  it.skipIf(url === null)('opens two connections, and quits both', async () => {
    const link = await openRedis(url as string, { prefix: 'kumo-test-link:' });
    expect(link.prefix).toBe('kumo-test-link:');
    expect(await link.commands.ping()).toBe('PONG');
    await link.subscriber.subscribe('kumo-test-link:x');
    await link.close();
    expect([link.commands.status, link.subscriber.status]).toEqual(['end', 'end']);
  });
});
