import type { CommandContext } from '../commands/command.ts';
import { interruptible } from '../terminal.ts';
import { parseCount } from './format.ts';
import { type Column, type Json, NONE, type Output, type Row } from './output.ts';
import { tableLines } from './render.ts';
import type { Style } from './style.ts';

/** COUNT_OPTION is `--count n`, which ends a stream after n events. */
export const COUNT_OPTION = { name: 'count', value: 'n', description: 'Stop after n' } as const;

/** StreamView is how a stream's events print for people: a header once, a line each. */
export interface StreamView<T> {
  readonly header?: string;
  line(event: T): string;
}

/**
 * printStream prints each event of a subscription as it comes, until Ctrl-C or `count` events
 * (`--count`): a line for people, the event whole as one JSON object per line with --json, its
 * `id` with --quiet.
 */
export async function printStream<T extends Row>(
  ctx: CommandContext,
  events: (signal: AbortSignal) => AsyncIterable<T>,
  view: StreamView<T>,
  count: string | undefined,
): Promise<Output> {
  const max = count === undefined ? Number.POSITIVE_INFINITY : parseCount(count, '--count');
  if (ctx.mode === 'human' && view.header !== undefined) ctx.terminal.out(`${view.header}\n`);
  await interruptible(ctx.terminal, async (signal) => {
    let seen = 0;
    for await (const e of events(signal)) {
      if (ctx.mode === 'json') ctx.terminal.out(`${JSON.stringify(e)}\n`);
      else if (ctx.mode === 'quiet') ctx.terminal.out(`${String(e.id ?? '')}\n`);
      else ctx.terminal.out(`${view.line(e)}\n`);
      if (++seen >= max) break;
    }
  });
  return NONE;
}

/**
 * alignedRows is a StreamView printing rows under a header, each aligned as if in one table
 * with `widest` (a row as wide as any to come), since rows are printed one at a time.
 */
export function alignedRows<T extends Row>(
  columns: readonly Column[],
  widest: { readonly [k: string]: Json },
  style: Style,
): StreamView<T> {
  const [header = ''] = tableLines(columns, [widest], style);
  return { header, line: (e) => tableLines(columns, [widest, e], style)[2] ?? '' };
}
