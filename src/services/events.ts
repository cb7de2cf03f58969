import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSubEventTarget, type Repeater } from 'graphql-yoga';
import type { UserId } from '../entities/ids.ts';
import type { HostStateChange } from './hosts/types.ts';
import type { ImageListEvent } from './image-lists/list-events.ts';
import { leavable } from './leavable.ts';
import type { VmMetrics } from './metering/live-metrics.ts';
import type { OperationUpdate } from './operations/operation-runner.ts';
import type { VmStateChange } from './vms/vm-state.ts';

type Topics = {
  hostStateChanged: [HostStateChange];
  operationUpdated: [OperationUpdate];
  vmStateChanged: [VmStateChange];
  vmMetrics: [VmMetrics];
  imageListEvent: [ImageListEvent];
  /** quotaUsageTouched: a user's use may have changed (null: anyone's, after a metering round). */
  quotaUsageTouched: [UserId | null];
};

// An EventTarget that knows how many listeners each topic has: one per open subscription.
class CountingTarget extends EventTarget {
  private readonly counts = new Map<string, number>();

  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    super.addEventListener(type, listener, options);
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
  }

  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: EventListenerOptions | boolean,
  ): void {
    super.removeEventListener(type, listener, options);
    this.counts.set(type, Math.max(0, (this.counts.get(type) ?? 0) - 1));
  }

  listeners(type: string): number {
    return this.counts.get(type) ?? 0;
  }
}

/**
 * EventBus carries what subscriptions stream, from the services that notice to the schema that
 * delivers: one in-process bus per controller (several replicas would need a shared one).
 * `listeners` says how many subscriptions listen to a topic now.
 */
export function createEventBus() {
  const target = new CountingTarget();
  // Each open subscription is a listener: thousands are normal, not a leak.
  setMaxListeners(0, target);
  const bus = createPubSub<Topics>({ eventTarget: target as PubSubEventTarget<Topics> });
  return Object.assign(bus, {
    listeners: (topic: keyof Topics): number => target.listeners(topic),
    /**
     * follow runs `read` over a topic's events as a subscription's stream, which ends (and stops
     * listening) as soon as its reader leaves, even between two events.
     */
    follow<K extends keyof Topics, T>(
      topic: K,
      read: (events: AsyncIterable<Topics[K][0]>) => AsyncGenerator<T>,
    ): AsyncGenerator<T> {
      // Every topic carries one value and no routing id, which the generic signature cannot see.
      const events: Repeater<Topics[K][0]> = bus.subscribe(topic as never);
      return leavable(read(events), () => events.return());
    },
  });
}

/** EventBus is the controller's event bus. */
export type EventBus = ReturnType<typeof createEventBus>;
