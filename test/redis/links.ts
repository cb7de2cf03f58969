import { openRedis, type RedisLink } from '../../src/services/replicas/redis.ts';

let counter = 0;

/**
 * testPrefix is a key and channel prefix no other test uses, in this run or another: a run's own
 * database keeps its keys apart, but Redis channels belong to no database, so events need it.
 * The worker's pid makes it unique on the machine.
 */
export function testPrefix(): string {
  counter++;
  return `kumo-test:${process.pid}:${counter}:`;
}

/**
 * openReplicaLinks opens n links to the Redis at url under one fresh prefix, each with its own
 * pair of connections, as n replicas of one controller would have.
 */
export function openReplicaLinks(url: string, n: number): Promise<RedisLink[]> {
  const prefix = testPrefix();
  return Promise.all(Array.from({ length: n }, () => openRedis(url, { prefix })));
}

/** subscribers is how many connections subscribe to a link's channel for topic (PUBSUB NUMSUB). */
export async function subscribers(link: RedisLink, topic: string): Promise<number> {
  const reply = await link.commands.pubsub('NUMSUB', link.prefix + topic);
  return Number(reply[1]);
}
