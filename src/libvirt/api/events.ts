import {
  decodeRemoteEvent,
  REMOTE_PROGRAM,
  type RemoteEventMessage,
  type RemoteProgram,
} from '../generated/remote-protocol.gen.ts';
import type { RpcClient } from '../rpc/client.ts';
import type { Header } from '../rpc/frame.ts';
import { XdrReader } from '../xdr/index.ts';
import { type DomainRef, domainRef } from './domains.ts';
import { EventQueue } from './event-queue.ts';

/** DomainEventId is virDomainEventID: which kind of domain event to subscribe to. */
export const DomainEventId = {
  LIFECYCLE: 0,
  REBOOT: 1,
  RTC_CHANGE: 2,
  WATCHDOG: 3,
  IO_ERROR: 4,
  GRAPHICS: 5,
  IO_ERROR_REASON: 6,
  CONTROL_ERROR: 7,
  BLOCK_JOB: 8,
  DISK_CHANGE: 9,
  TRAY_CHANGE: 10,
  PMWAKEUP: 11,
  PMSUSPEND: 12,
  BALLOON_CHANGE: 13,
  PMSUSPEND_DISK: 14,
  DEVICE_REMOVED: 15,
  BLOCK_JOB_2: 16,
  TUNABLE: 17,
  AGENT_LIFECYCLE: 18,
  DEVICE_ADDED: 19,
  MIGRATION_ITERATION: 20,
  JOB_COMPLETED: 21,
  DEVICE_REMOVAL_FAILED: 22,
  METADATA_CHANGE: 23,
  BLOCK_THRESHOLD: 24,
  MEMORY_FAILURE: 25,
  MEMORY_DEVICE_SIZE_CHANGE: 26,
} as const;

/** LifecycleEvent is virDomainEventType, by name. */
export type LifecycleEvent =
  | 'defined'
  | 'undefined'
  | 'started'
  | 'suspended'
  | 'resumed'
  | 'stopped'
  | 'shutdown'
  | 'pmsuspended'
  | 'crashed';

const LIFECYCLE: readonly LifecycleEvent[] = [
  'defined',
  'undefined',
  'started',
  'suspended',
  'resumed',
  'stopped',
  'shutdown',
  'pmsuspended',
  'crashed',
];

/** DomainLifecycleEvent says a domain changed state; detail is the event's libvirt detail code. */
export interface DomainLifecycleEvent {
  readonly domain: DomainRef;
  readonly event: LifecycleEvent;
  readonly detail: number;
}

/** Subscription is a registered server-side event callback. */
export interface Subscription {
  readonly callbackId: number;
  /** close deregisters the callback on the daemon. */
  close(): Promise<void>;
}

type Handler = (ev: RemoteEventMessage) => void;

/**
 * EventApi registers domain event callbacks on the daemon and routes each event message to
 * its subscriber by callback id. Events that arrive before the registering call's reply (the
 * daemon may send them first) wait until the id is known.
 */
export class EventApi {
  private readonly remote: RemoteProgram;
  private readonly handlers = new Map<number, Handler>();
  private early: RemoteEventMessage[] = [];
  private registering = 0;

  constructor(remote: RemoteProgram, rpc: RpcClient) {
    this.remote = remote;
    rpc.onMessage((h, payload) => this.route(h, payload));
  }

  /** subscribe registers for one event id, for one domain or all; the handler gets raw messages. */
  async subscribe(eventId: number, handler: Handler, dom?: DomainRef): Promise<Subscription> {
    this.registering++;
    let callbackId: number;
    try {
      ({ callbackID: callbackId } = await this.remote.connectDomainEventCallbackRegisterAny({
        eventID: eventId,
        dom: dom ? dom.handle : null,
      }));
    } finally {
      this.registering--;
    }
    this.handlers.set(callbackId, handler);
    this.replayEarly();
    return {
      callbackId,
      close: async () => {
        if (!this.handlers.delete(callbackId)) return;
        await this.remote.connectDomainEventCallbackDeregisterAny({ callbackID: callbackId });
      },
    };
  }

  /** onLifecycle calls `handler` for each lifecycle event, in the order the daemon sent them. */
  onLifecycle(handler: (e: DomainLifecycleEvent) => void, dom?: DomainRef): Promise<Subscription> {
    return this.subscribe(
      DomainEventId.LIFECYCLE,
      (ev) => {
        if (ev.name !== 'DOMAIN_EVENT_CALLBACK_LIFECYCLE') return;
        const m = ev.msg.msg;
        handler({
          domain: domainRef(m.dom),
          event: LIFECYCLE[m.event] ?? 'defined',
          detail: m.detail,
        });
      },
      dom,
    );
  }

  /** lifecycle is onLifecycle as an async iterator; ending the iteration deregisters. */
  async lifecycle(
    dom?: DomainRef,
  ): Promise<AsyncIterableIterator<DomainLifecycleEvent> & { close(): Promise<void> }> {
    let sub: Subscription | null = null;
    const queue = new EventQueue<DomainLifecycleEvent>(
      () => void sub?.close().catch(() => undefined),
    );
    sub = await this.onLifecycle((e) => queue.push(e), dom);
    const s = sub;
    return Object.assign(queue, {
      close: async () => {
        queue.end();
        await s.close();
      },
    });
  }

  /** closeAll deregisters every subscription (before the connection closes). */
  async closeAll(): Promise<void> {
    const ids = [...this.handlers.keys()];
    this.handlers.clear();
    await Promise.all(
      ids.map((id) =>
        this.remote
          .connectDomainEventCallbackDeregisterAny({ callbackID: id }, { timeoutMs: 5000 })
          .catch(() => undefined),
      ),
    );
  }

  private route(h: Header, payload: Buffer): void {
    if (h.program !== REMOTE_PROGRAM) return;
    const ev = decodeRemoteEvent(h.procedure, new XdrReader(payload));
    if (!ev || !('callbackID' in ev.msg)) return;
    const handler = this.handlers.get(ev.msg.callbackID);
    if (handler) handler(ev);
    else if (this.registering > 0) this.early.push(ev);
  }

  private replayEarly(): void {
    const early = this.early;
    this.early = [];
    for (const ev of early) {
      if (!('callbackID' in ev.msg)) continue;
      const handler = this.handlers.get(ev.msg.callbackID);
      if (handler) handler(ev);
      else if (this.registering > 0) this.early.push(ev);
    }
  }
}
