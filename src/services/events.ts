import { setMaxListeners } from 'node:events';
import type { HostId, UserId } from '../entities/ids.ts';
import type { OutputRelayed } from './exec/output-relay.ts';
import type { HostStateChange } from './hosts/types.ts';
import type { ImageListEvent } from './image-lists/list-events.ts';
import { leavable } from './leavable.ts';
import type { VmMetrics } from './metering/live-metrics.ts';
import type { CancelAnswer, CancelAsk } from './operations/cancel-relay.ts';
import type { OperationUpdate } from './operations/operation-runner.ts';
import type { RedisLink } from './replicas/redis.ts';
import { redisEventTarget } from './replicas/redis-event-target.ts';
import { TopicReader } from './topic-reader.ts';
import type { ConsoleBytes, ConsoleNotice } from './vms/console-share.ts';
import type { VmStateChange } from './vms/vm-state.ts';

type Topics = {
  hostStateChanged: [HostStateChange];
  operationUpdated: [OperationUpdate];
  vmStateChanged: [VmStateChange];
  vmMetrics: [VmMetrics];
  imageListEvent: [ImageListEvent];
  /** quotaUsageTouched: a user's use may have changed (null: anyone's, after a metering round). */
  quotaUsageTouched: [UserId | null];
  /** hostChanged: a host was added, changed, held or removed (replicas apply it: HostSync). */
  hostChanged: [HostId];
  /** operationCancel asks the replica running an operation to cancel it (CancelRelay). */
  operationCancel: [CancelAsk];
  /** operationCancelled is that replica's answer. */
  operationCancelled: [CancelAnswer];
  /** executionOutput carries a command's output to the other replicas (relayOutput). */
  executionOutput: [OutputRelayed];
  /** consoleOutput, consoleInput, consoleKeep, consoleEnded share consoles (ConsoleShare). */
  consoleOutput: [ConsoleBytes];
  consoleInput: [ConsoleBytes];
  consoleKeep: [ConsoleNotice];
  consoleEnded: [ConsoleNotice];
};

// Wraps the EventTarget events go through, and knows how many listeners each topic has here:
// one per open subscription of this process.
class CountingTarget implements EventTarget {
  private readonly inner: EventTarget;
  private readonly counts = new Map<string, number>();

  constructor(inner: EventTarget) {
    this.inner = inner;
  }

  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    this.inner.addEventListener(type, listener, options);
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
  }

  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: EventListenerOptions | boolean,
  ): void {
    this.inner.removeEventListener(type, listener, options);
    this.counts.set(type, Math.max(0, (this.counts.get(type) ?? 0) - 1));
  }

  dispatchEvent(event: Event): boolean {
    return this.inner.dispatchEvent(event);
  }

  listeners(type: string): number {
    return this.counts.get(type) ?? 0;
  }
}

function localTarget(): EventTarget {
  const target = new EventTarget();
  // Each open subscription is a listener: thousands are normal, not a leak.
  setMaxListeners(0, target);
  return target;
}

type Topic = keyof Topics;
type Payload<K extends Topic> = Topics[K][0];

/**
 * createEventBus makes the bus that carries what subscriptions stream, from the services that
 * notice to the schema that delivers. Without redis it is in-process (one controller); with it,
 * an event published on any replica reaches the subscribers of every replica, its own included.
 * `listeners` says how many subscriptions of this process listen to a topic now.
 */
export function createEventBus(redis?: RedisLink) {
  const target = new CountingTarget(redis ? redisEventTarget(redis) : localTarget());
  const listen = <K extends Topic>(topic: K, handler: (value: Payload<K>) => void) => {
    const listener = (e: Event) => handler((e as CustomEvent<Payload<K>>).detail);
    target.addEventListener(topic, listener);
    return () => target.removeEventListener(topic, listener);
  };
  const subscribe = <K extends Topic>(topic: K): TopicReader<Payload<K>> => {
    let off: () => void = () => undefined;
    const reader = new TopicReader<Payload<K>>(() => off());
    off = listen(topic, (value) => reader.push(value));
    return reader;
  };
  return {
    /** shared says other replicas hear what is published here (Redis). */
    shared: redis !== undefined,
    publish<K extends Topic>(topic: K, value: Payload<K>): void {
      target.dispatchEvent(new CustomEvent(topic, { detail: value }));
    },
    /**
     * listen calls `handler` with each of a topic's events as it is published, until the
     * returned function is called. The handler must be quick and must not throw: the
     * controller's own listeners (replicas' chores) use it, subscriptions use follow.
     */
    listen,
    /** subscribe reads a topic's events in order (ended if it falls far behind: TopicReader). */
    subscribe,
    listeners: (topic: Topic): number => target.listeners(topic),
    /**
     * heardAnywhere says whether any replica has a subscription to the topic now (Redis counts
     * the replicas subscribed to its channel), so that costly events need not be made for none.
     */
    async heardAnywhere(topic: Topic): Promise<boolean> {
      if (target.listeners(topic) > 0) return true;
      if (!redis) return false;
      const reply = (await redis.commands.pubsub('NUMSUB', redis.prefix + topic)) as unknown[];
      return Number(reply[1] ?? 0) > 0;
    },
    /**
     * follow runs `read` over a topic's events as a subscription's stream, which ends (and stops
     * listening) as soon as its reader leaves, even between two events.
     */
    follow<K extends Topic, T>(
      topic: K,
      read: (events: AsyncIterable<Payload<K>>) => AsyncGenerator<T>,
    ): AsyncGenerator<T> {
      const events = subscribe(topic);
      return leavable(read(events), () => events.return());
    },
  };
}

/** EventBus is the controller's event bus. */
export type EventBus = ReturnType<typeof createEventBus>;
