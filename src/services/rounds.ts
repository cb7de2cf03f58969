/** ROUND_HOSTS is how many hosts a round (sweep, metering) works on at once. */
export const ROUND_HOSTS = 16;

/** RoundName names a kind of periodic background round over the whole fleet. */
export type RoundName = 'reconcile' | 'metering';

/** RoundFigures are how many rounds of a kind ended and how long the last one took. */
export interface RoundFigures {
  readonly count: number;
  readonly lastSeconds: number;
}

/**
 * Rounds keeps how long the controller's rounds over every host take (the reconciler's sweep,
 * the metering collection), so /metrics shows when a fleet outgrows its intervals.
 */
export class Rounds {
  private readonly figures = new Map<RoundName, RoundFigures>();

  /** time runs one round of `name` and records its duration, whether it succeeds or not. */
  async time<T>(name: RoundName, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      const count = (this.figures.get(name)?.count ?? 0) + 1;
      this.figures.set(name, { count, lastSeconds: (performance.now() - t0) / 1000 });
    }
  }

  /** snapshot is every kind of round seen so far. */
  snapshot(): ReadonlyMap<RoundName, RoundFigures> {
    return new Map(this.figures);
  }
}
