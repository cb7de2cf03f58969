// The event bus over Redis: what one replica publishes, every replica's subscribers get.
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import type { OperationId, UserId, VmId } from '../../src/entities/ids.ts';
import { createEventBus, type EventBus } from '../../src/services/events.ts';
import type { VmMetrics } from '../../src/services/metering/live-metrics.ts';
import type { OperationUpdate } from '../../src/services/operations/operation-runner.ts';
import type { RedisLink } from '../../src/services/replicas/redis.ts';
import { openReplicaLinks, subscribers } from '../redis/links.ts';
import { until, within } from '../support/wait.ts';

const url = inject('redisUrl');

function metrics(n: number): VmMetrics {
  return {
    vmId: `vm-${n}` as VmId,
    at: new Date(1_700_000_000_000 + n),
    seconds: 10,
    cpuPercent: n / 3,
    memoryBytes: 2n ** 40n + BigInt(n),
    diskReadBytesPerSecond: 1.5,
    diskWriteBytesPerSecond: 0,
    netRxBytesPerSecond: n,
    netTxBytesPerSecond: Number.NaN,
  };
}

const update: OperationUpdate = {
  id: 'op-1' as OperationId,
  kind: 'vmMigrate',
  actorId: null,
  status: 'RUNNING',
  progress: 0.5,
  phase: null,
  error: null,
  details: { transferredBytes: 10, phases: ['COPY', { at: new Date(0), bytes: 7n }] },
};

/** take reads the next n values of a subscription (bounded: a lost event fails, not hangs). */
async function take<T>(events: AsyncIterator<T>, n: number): Promise<T[]> {
  const got: T[] = [];
  for (let i = 0; i < n; i++) got.push((await within(events.next(), 5000, 'an event')).value);
  return got;
}

async function waitSubscribers(link: RedisLink, topic: string, n: number): Promise<void> {
  await until(
    async () => ((await subscribers(link, topic)) === n ? true : undefined),
    5000,
    `${n} Redis subscribers of ${topic}`,
  );
}

describe.skipIf(url === null)('the event bus over Redis', () => {
  const links: RedisLink[] = [];
  afterEach(async () => {
    await Promise.all(links.splice(0).map((l) => l.close()));
  });

  async function twoReplicas(): Promise<[RedisLink, RedisLink, EventBus, EventBus]> {
    const [a, b] = await openReplicaLinks(url as string, 2);
    if (!a || !b) throw new Error('two links expected');
    links.push(a, b);
    return [a, b, createEventBus(a), createEventBus(b)];
  }

  it('brings every replica what one publishes, its own included, in order and intact', async () => {
    const [a, , busA, busB] = await twoReplicas();
    const onA = busA.subscribe('vmMetrics');
    const onB = busB.subscribe('vmMetrics');
    const [firstA, firstB] = [onA.next(), onB.next()];
    await waitSubscribers(a, 'vmMetrics', 2);
    const sent = [1, 2, 3, 4, 5].map(metrics);
    for (const m of sent) busA.publish('vmMetrics', m);
    const gotA = [(await firstA).value, ...(await take(onA, 4))];
    const gotB = [(await firstB).value, ...(await take(onB, 4))];
    expect(gotA).toEqual(sent);
    expect(gotB).toEqual(sent);
    expect(gotB[0]?.at).toBeInstanceOf(Date);
    expect(typeof gotB[0]?.memoryBytes).toBe('bigint');
    await Promise.all([onA.return(), onB.return()]);
  });

  it('carries nested details, null and ids the other way too', async () => {
    const [a, , busA, busB] = await twoReplicas();
    const ops = busA.subscribe('operationUpdated');
    const quota = busA.subscribe('quotaUsageTouched');
    const [nextOp, nextQuota] = [ops.next(), quota.next()];
    await waitSubscribers(a, 'operationUpdated', 1);
    await waitSubscribers(a, 'quotaUsageTouched', 1);
    busB.publish('operationUpdated', update);
    busB.publish('quotaUsageTouched', null);
    busB.publish('quotaUsageTouched', 'user-1' as UserId);
    expect((await within(nextOp, 5000, 'an operation update')).value).toEqual(update);
    expect((await within(nextQuota, 5000, 'a quota touch')).value).toBeNull();
    expect(await take(quota, 1)).toEqual(['user-1']);
    await Promise.all([ops.return(), quota.return()]);
  });

  it('listens on a channel while a subscription here does, and lets go after the last', async () => {
    const [a, , busA, busB] = await twoReplicas();
    const topic = 'vmStateChanged';
    const pass = async function* (events: AsyncIterable<unknown>) {
      yield* events;
    };
    const streams = [busA.follow(topic, pass), busA.follow(topic, pass), busB.follow(topic, pass)];
    for (const s of streams) void s.next().catch(() => undefined);
    await until(
      async () => (busA.listeners(topic) === 2 && busB.listeners(topic) === 1 ? true : undefined),
      5000,
      'three listeners',
    );
    // One subscription per replica's connection, however many listeners it serves.
    await waitSubscribers(a, topic, 2);
    await streams[0]?.return(undefined);
    expect(busA.listeners(topic)).toBe(1);
    await waitSubscribers(a, topic, 2);
    await streams[1]?.return(undefined);
    expect(busA.listeners(topic)).toBe(0);
    await waitSubscribers(a, topic, 1);
    // A has no subscription of its own, but B's is heard of.
    expect(await busA.heardAnywhere(topic)).toBe(true);
    await streams[2]?.return(undefined);
    expect(busB.listeners(topic)).toBe(0);
    await waitSubscribers(a, topic, 0);
    expect(await busA.heardAnywhere(topic)).toBe(false);
  });

  it('drops a message it cannot read, and goes on', async () => {
    const [a, , busA] = await twoReplicas();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const events = busA.subscribe('vmMetrics');
      const next = events.next();
      await waitSubscribers(a, 'vmMetrics', 1);
      await a.commands.publish(`${a.prefix}vmMetrics`, '{"$date":"not a date"}');
      busA.publish('vmMetrics', metrics(7));
      expect((await within(next, 5000, 'an event')).value).toEqual(metrics(7));
      expect(errors).toHaveBeenCalledWith(expect.stringMatching(/read on vmMetrics failed/));
      await events.return();
    } finally {
      errors.mockRestore();
    }
  });
});
