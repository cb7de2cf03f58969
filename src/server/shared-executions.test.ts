import { buildSchema, type ExecutionResult, parse } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { sharedExecutions } from './shared-executions.ts';

// One event source for everyone, as the bus is: each subscriber gets the same event objects.
function setUp() {
  const schema = buildSchema(`
    type Query { ok: Boolean }
    type Event { n: Int!, seenBy: String! }
    type Subscription { events: Event! }
  `);
  const waiting: Array<(event: { n: number }) => void> = [];
  let resolved = 0;
  const fields = schema.getSubscriptionType()?.getFields();
  (fields?.events as { subscribe?: unknown; resolve?: unknown }).subscribe = async function* () {
    for (;;) yield await new Promise<{ n: number }>((r) => waiting.push(r));
  };
  (fields?.events as { resolve?: unknown }).resolve = (e: unknown) => e;
  const eventFields = (
    schema.getType('Event') as { getFields(): Record<string, unknown> }
  ).getFields();
  (eventFields.seenBy as { resolve?: unknown }).resolve = (
    _e: unknown,
    _a: unknown,
    ctx: { viewer: string },
  ) => {
    resolved++;
    return ctx.viewer;
  };
  const yoga = createYoga({
    schema,
    plugins: [sharedExecutions((c) => (c as { viewer?: string }).viewer ?? null)],
  });
  const subscribe = async (viewer: string) => {
    const env = yoga.getEnveloped({});
    const stream = (await env.subscribe({
      schema: env.schema,
      document: parse('subscription { events { n seenBy } }'),
      contextValue: { viewer },
    })) as AsyncIterableIterator<ExecutionResult>;
    return stream;
  };
  const publish = async (event: { n: number }) => {
    // Every subscriber must be waiting for its next event before it is given.
    await new Promise((r) => setTimeout(r, 10));
    for (const w of waiting.splice(0)) w(event);
  };
  return { subscribe, publish, resolvedCount: () => resolved };
}

describe('shared subscription executions', () => {
  it('execute an event once per viewer, and give each subscriber its own result', async () => {
    const t = setUp();
    const subs = await Promise.all(['ann', 'ann', 'ann', 'bob'].map((v) => t.subscribe(v)));
    const nexts = subs.map((s) => s.next());
    await t.publish({ n: 1 });
    const results = await Promise.all(nexts);
    expect(results.map((r) => r.value)).toEqual([
      { data: { events: { n: 1, seenBy: 'ann' } } },
      { data: { events: { n: 1, seenBy: 'ann' } } },
      { data: { events: { n: 1, seenBy: 'ann' } } },
      { data: { events: { n: 1, seenBy: 'bob' } } },
    ]);
    // Once for ann's three subscriptions, once for bob's.
    expect(t.resolvedCount()).toBe(2);
    // A new event is executed anew.
    const again = subs.map((s) => s.next());
    await t.publish({ n: 2 });
    await Promise.all(again);
    expect(t.resolvedCount()).toBe(4);
    for (const s of subs) await s.return?.();
  });
});
