import { ServiceError } from './errors.ts';

interface Held {
  readonly what: string;
  readonly done: Promise<void>;
}

/**
 * LockStore holds keys across the controller's replicas: `take` resolves with the release once
 * the key is this replica's, or throws CONFLICT naming its holder after `waitMs`.
 */
export interface LockStore {
  take(key: string, what: string, waitMs: number): Promise<() => Promise<void>>;
  /** tryTake takes the key if it is free, at once: its release, or null when it is held. */
  tryTake(key: string, what: string): Promise<(() => Promise<void>) | null>;
  /** held says whether any replica holds the key now. */
  held(key: string): Promise<boolean>;
}

/**
 * Locks serialize actions on one thing (a VM; the placement of new VMs): each action waits for
 * the one before it (first come, first served), up to a bound, after which it is refused with
 * CONFLICT naming what holds it. Within a process the actions queue; among replicas, the one
 * at the head of its queue also takes the key in a shared store (`scope:key`).
 */
export class Locks<K extends string> {
  private readonly tails = new Map<K, Held>();
  private readonly shared: { readonly store: LockStore; readonly scope: string } | null;

  constructor(shared?: { readonly store: LockStore; readonly scope: string }) {
    this.shared = shared ?? null;
  }

  /** run runs `work` once every earlier action on the same key has finished. */
  async run<T>(key: K, what: string, work: () => Promise<T>, waitMs = 15_000): Promise<T> {
    const before = this.tails.get(key);
    let release: () => void = () => {};
    const own = new Promise<void>((r) => {
      release = r;
    });
    // An action that gave up waiting must not let the next one overtake the one still running.
    const done = before ? Promise.all([before.done, own]).then(() => undefined) : own;
    const mine: Held = { what, done };
    this.tails.set(key, mine);
    const started = performance.now();
    try {
      if (before) await waitFor(before, waitMs);
      if (!this.shared) return await work();
      const left = Math.max(0, waitMs - (performance.now() - started));
      const release = await this.shared.store.take(`${this.shared.scope}:${key}`, what, left);
      try {
        return await work();
      } finally {
        await release().catch((err: unknown) =>
          process.emitWarning(`releasing the lock on ${key}: ${String(err)}`),
        );
      }
    } finally {
      release();
      void done.then(() => {
        if (this.tails.get(key) === mine) this.tails.delete(key);
      });
    }
  }

  /** busyWith says what holds the key now, or null. */
  busyWith(key: K): string | null {
    return this.tails.get(key)?.what ?? null;
  }
}

async function waitFor(held: Held, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    if ((await Promise.race([held.done, timeout])) === 'timeout')
      throw new ServiceError(
        'CONFLICT',
        `it is busy (${held.what}); try again when that has finished`,
        'input.id',
      );
  } finally {
    clearTimeout(timer);
  }
}
