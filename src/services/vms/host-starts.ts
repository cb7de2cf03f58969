import type { HostId } from '../../entities/ids.ts';
import { Limiter } from '../limiter.ts';
import type { LockStore } from '../locks.ts';

// How often a start waiting for a host's slot held by another replica asks again.
const POLL_MS = 50;

/**
 * HostStarts bounds how many domains each host starts at once. Starting QEMU is heavy on the
 * host's CPU: asked for fifty at once, a host answers some starts only after libvirt's call
 * time-out (bench/README.md, provisioning); in line, each is quick. Among replicas the bound is
 * the host's, not each replica's: a start also takes one of the host's `start:<host>:<n>`
 * slots in the shared store.
 */
export class HostStarts {
  private readonly max: number;
  private readonly shared: LockStore | null;
  private readonly hosts = new Map<HostId, Limiter>();

  constructor(max: number, shared: LockStore | null = null) {
    this.max = max;
    this.shared = shared;
  }

  /** run runs a start on the host when it has a free slot. */
  run<T>(host: HostId, start: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let limiter = this.hosts.get(host);
    if (!limiter) {
      limiter = new Limiter(this.max);
      this.hosts.set(host, limiter);
    }
    const shared = this.shared;
    if (!shared) return limiter.run(start, signal);
    return limiter.run(async () => {
      const release = await this.slot(shared, host, signal);
      try {
        return await start();
      } finally {
        await release().catch(() => undefined);
      }
    }, signal);
  }

  private async slot(
    store: LockStore,
    host: HostId,
    signal: AbortSignal | undefined,
  ): Promise<() => Promise<void>> {
    for (;;) {
      for (let n = 0; n < this.max; n++) {
        const release = await store.tryTake(`start:${host}:${n}`, 'a domain start');
        if (release) return release;
      }
      signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
