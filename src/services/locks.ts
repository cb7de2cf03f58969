import { ServiceError } from './errors.ts';

interface Held {
  readonly what: string;
  readonly done: Promise<void>;
}

/**
 * Locks serialize actions on one thing (a VM; the placement of new VMs): each action waits for
 * the one before it (first come, first served), up to a bound, after which it is refused with
 * CONFLICT naming what holds it. In-process: one controller process owns its hosts.
 */
export class Locks<K extends string> {
  private readonly tails = new Map<K, Held>();

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
    try {
      if (before) await waitFor(before, waitMs);
      return await work();
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
