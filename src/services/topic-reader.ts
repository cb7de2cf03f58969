import { ServiceError } from './errors.ts';

// A subscriber this many events behind is ended rather than held: its events would pile up in
// the controller's memory for as long as it does not read (a client that stopped reading its
// socket), and one such reader must not cost the others anything.
const MAX_PENDING = 1024;

/**
 * TopicReader is one subscription's queue of a topic's events: `push` (the bus's listener)
 * adds, the reader takes them in order. It ends when its reader returns, or with an error when
 * the reader falls MAX_PENDING events behind; `stop` is called once, either way, to stop
 * listening.
 */
export class TopicReader<T> implements AsyncIterableIterator<T> {
  private readonly pending: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((err: unknown) => void) | null = null;
  private ended = false;
  private failure: ServiceError | null = null;
  private readonly stop: () => void;

  constructor(stop: () => void) {
    this.stop = stop;
  }

  push(value: T): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      this.failWaiting = null;
      waiting({ done: false, value });
      return;
    }
    if (this.pending.length >= MAX_PENDING) {
      this.failure = new ServiceError(
        'REFUSED',
        `this subscription fell ${MAX_PENDING} events behind and was ended; subscribe again`,
      );
      this.end();
      return;
    }
    this.pending.push(value);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.pending.length > 0)
      return Promise.resolve({ done: false, value: this.pending.shift() as T });
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.pending.length = 0;
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    const waiting = this.waiting;
    const failWaiting = this.failWaiting;
    this.waiting = null;
    this.failWaiting = null;
    if (this.failure) failWaiting?.(this.failure);
    else waiting?.({ done: true, value: undefined });
  }
}
