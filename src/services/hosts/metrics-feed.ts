import type { HostMetricsSample } from './types.ts';

/** MetricsFeedOptions choose which hosts a metrics feed samples and how often. */
export interface MetricsFeedOptions {
  /** intervalMs is the time between rounds of samples. @default 5000 */
  readonly intervalMs?: number;
  /** hostIds limits the feed to these hosts; all connected hosts when absent. */
  readonly hostIds?: readonly string[];
  /** buffer is how many samples wait for a slow reader before the oldest are dropped. @default 256 */
  readonly buffer?: number;
}

/**
 * MetricsFeed is an async iterator of host metrics: every interval it takes a round of samples
 * (the next round is timed from the end of the last, so rounds never overlap) and queues them
 * for the reader. return() (a `break` out of `for await`) or end() stops its timer.
 */
export class MetricsFeed implements AsyncIterableIterator<HostMetricsSample> {
  private readonly round: () => Promise<HostMetricsSample[]>;
  private readonly intervalMs: number;
  private readonly buffer: number;
  private readonly queue: HostMetricsSample[] = [];
  private readonly waiting: Array<(r: IteratorResult<HostMetricsSample>) => void> = [];
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  private readonly onEnd: () => void;

  constructor(
    round: () => Promise<HostMetricsSample[]>,
    opts: MetricsFeedOptions,
    onEnd: () => void,
  ) {
    this.round = round;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.buffer = opts.buffer ?? 256;
    this.onEnd = onEnd;
    void this.tick();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<HostMetricsSample>> {
    const value = this.queue.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  return(): Promise<IteratorResult<HostMetricsSample>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** end stops the feed; a reader gets what is queued, then done. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
    this.onEnd();
  }

  private async tick(): Promise<void> {
    const samples = await this.round().catch(() => []);
    if (this.done) return;
    for (const s of samples) this.push(s);
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private push(sample: HostMetricsSample): void {
    const w = this.waiting.shift();
    if (w) {
      w({ value: sample, done: false });
      return;
    }
    this.queue.push(sample);
    if (this.queue.length > this.buffer) this.queue.shift();
  }
}
