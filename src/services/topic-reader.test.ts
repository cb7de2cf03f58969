import { describe, expect, it } from 'vitest';
import type { HostId } from '../entities/ids.ts';
import { createEventBus } from './events.ts';

describe('a subscription on the event bus', () => {
  it('that stops reading is ended once far behind, without troubling the publisher or the others', async () => {
    const bus = createEventBus();
    const stuck = bus.subscribe('hostChanged');
    const reading = bus.subscribe('hostChanged');
    const got: HostId[] = [];
    const readAll = (async () => {
      for await (const id of reading) {
        got.push(id);
        if (got.length === 3000) return;
      }
    })();
    for (let i = 0; i < 3000; i++) {
      bus.publish('hostChanged', `h${i}` as HostId);
      // The reader reads as events come; the stuck one never does.
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await readAll;
    expect(got).toHaveLength(3000);
    // What the stuck one was given before it fell behind, then the end.
    let held = 0;
    await expect(
      (async () => {
        for await (const _ of stuck) held++;
      })(),
    ).rejects.toThrow(/fell 1024 events behind/);
    expect(held).toBe(1024);
    expect(bus.listeners('hostChanged')).toBe(0);
  });

  it('that returns stops listening at once, even while waiting for an event', async () => {
    const bus = createEventBus();
    const sub = bus.subscribe('hostChanged');
    const next = sub.next();
    expect(bus.listeners('hostChanged')).toBe(1);
    await sub.return();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(bus.listeners('hostChanged')).toBe(0);
  });
});
