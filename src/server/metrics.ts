import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Rounds } from '../services/rounds.ts';

/** ServerMetrics are the controller's Prometheus metrics, served at /metrics. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly operations: Counter<'type' | 'result'>;
  readonly duration: Histogram<'type'>;
  readonly subscriptions: Counter<'event'>;
  readonly unexpectedErrors: Counter;

  constructor(rounds?: Rounds) {
    // The event-loop lag is sampled every 100 ms, not prom-client's 10 ms: the finer sampling
    // alone cost an idle controller about 1% of a core (bench/README.md, metering).
    collectDefaultMetrics({
      register: this.registry,
      prefix: 'kumo_',
      eventLoopMonitoringPrecision: 100,
    });
    this.operations = new Counter({
      name: 'kumo_graphql_operations_total',
      help: 'GraphQL operations executed, by operation type and result',
      labelNames: ['type', 'result'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'kumo_graphql_operation_seconds',
      help: 'Time to execute a GraphQL query or mutation',
      labelNames: ['type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.registry],
    });
    this.subscriptions = new Counter({
      name: 'kumo_graphql_subscriptions_total',
      help: 'GraphQL subscriptions started and ended over the WebSocket',
      labelNames: ['event'],
      registers: [this.registry],
    });
    this.unexpectedErrors = new Counter({
      name: 'kumo_graphql_unexpected_errors_total',
      help: 'Errors a resolver threw that Kumo did not plan for (shown to clients masked, logged)',
      registers: [this.registry],
    });
    if (!rounds) return;
    const figures = [
      ['kumo_rounds_total', 'Background rounds over every host ended, by kind', 'count'],
      [
        'kumo_round_last_seconds',
        'How long the last background round over every host took',
        'lastSeconds',
      ],
    ] as const;
    for (const [name, help, figure] of figures)
      new Gauge({
        name,
        help: `${help} (reconcile, metering)`,
        labelNames: ['round'],
        registers: [this.registry],
        collect() {
          for (const [round, f] of rounds.snapshot()) this.set({ round }, f[figure]);
        },
      });
  }
}
