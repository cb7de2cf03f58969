import { describe, expect, it } from 'vitest';
import type { HostId } from '../../entities/ids.ts';
import { HostStarts } from './host-starts.ts';

const a = 'host-a' as HostId;
const b = 'host-b' as HostId;

describe('HostStarts', () => {
  it('starts at most max at once on a host, and each host on its own', async () => {
    const starts = new HostStarts(2);
    const running = new Map<HostId, number>();
    const peak = new Map<HostId, number>();
    const start = (host: HostId) =>
      starts.run(host, async () => {
        const now = (running.get(host) ?? 0) + 1;
        running.set(host, now);
        peak.set(host, Math.max(peak.get(host) ?? 0, now));
        await new Promise((r) => setTimeout(r, 5));
        running.set(host, now - 1);
      });
    await Promise.all([...Array.from({ length: 6 }, () => start(a)), start(b), start(b)]);
    expect(peak.get(a)).toBe(2);
    expect(peak.get(b)).toBe(2);
  });

  it('takes a start whose operation is cancelled while it waits out of line', async () => {
    const starts = new HostStarts(1);
    let release: () => void = () => undefined;
    const first = starts.run(a, () => new Promise<void>((r) => (release = r)));
    const cancel = new AbortController();
    const waiting = starts.run(a, async () => 'ran', cancel.signal);
    cancel.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    release();
    await first;
    await expect(starts.run(a, async () => 'next')).resolves.toBe('next');
  });
});
