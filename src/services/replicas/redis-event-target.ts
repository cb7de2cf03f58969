import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Redis } from 'ioredis';
import type { RedisLink } from './redis.ts';
import { parseTagged, stringifyTagged } from './tagged-json.ts';

/**
 * redisEventTarget is an EventTarget whose events travel through Redis channels named
 * `<prefix><topic>`: a listener on any replica hears what every replica dispatches, its own
 * included. A channel is subscribed while the topic has a listener here, and payloads travel as
 * tagged JSON (Dates and bigints intact).
 */
export function redisEventTarget(link: RedisLink): EventTarget {
  // The target calls nothing else on its clients; the stand-in is one object for both roles.
  const client = guardedClient(link) as unknown as Redis;
  return createRedisEventTarget({
    publishClient: client,
    subscribeClient: client,
    serializer: { stringify: stringifyTagged, parse: parseTagged },
  });
}

/**
 * guardedClient is what createRedisEventTarget (3.0.4) calls on its clients, over link's. The
 * target leaves the commands' promises unawaited and parses messages inside ioredis's socket
 * handler, so a publish failing while Redis is away, or a message this version cannot read (a
 * newer replica's), would bring the controller down. Here they are reported and dropped.
 */
function guardedClient({ commands, subscriber, prefix }: RedisLink) {
  return {
    publish: (topic: string, message: string) =>
      commands.publish(prefix + topic, message).catch(report('publish', topic)),
    subscribe: (topic: string) =>
      subscriber.subscribe(prefix + topic).catch(report('subscribe', topic)),
    unsubscribe: (topic: string) =>
      subscriber.unsubscribe(prefix + topic).catch(report('unsubscribe', topic)),
    on: (_event: 'message', listener: (topic: string, message: string) => void) =>
      subscriber.on('message', (channel: string, message: string) => {
        if (!channel.startsWith(prefix)) return;
        const topic = channel.slice(prefix.length);
        try {
          listener(topic, message);
        } catch (err) {
          report('read', topic)(err);
        }
      }),
  };
}

function report(what: string, topic: string): (err: unknown) => void {
  return (err) => {
    const detail = err instanceof Error ? err.message : String(err);
    console.error(`kumo: events: ${what} on ${topic} failed: ${detail}`);
  };
}
