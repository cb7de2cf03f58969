import { graphql, type ResultOf } from '../../graphql/graphql.ts';
import type { Api } from '../api/api.ts';
import { CliError } from '../api/cli-error.ts';
import type { CommandContext } from '../commands/command.ts';
import { done, type Output } from '../output/output.ts';
import { ProgressDisplay, type TransferFigures } from '../output/progress.ts';
import { shortId } from '../resources/ids.ts';
import { interruptible } from '../terminal.ts';

const FIGURES = `status progress phase error
  transfer { transferredBytes totalBytes }
  migration { phase bytesPerSecond memoryProcessedBytes memoryTotalBytes diskProcessedBytes
    diskTotalBytes remainingMs iteration }`;

const NOW = graphql(`query OperationNow($id: ID!) {
  node(id: $id) { ... on Operation { id kind ${FIGURES} } } }`);
const UPDATES = graphql(`subscription OperationUpdates($id: ID) {
  operationUpdated(operation: $id) { ${FIGURES} } }`);

// Moment is one report of an operation: its figures, and its kind (read once).
type Moment = ResultOf<typeof UPDATES>['operationUpdated'] & { readonly kind: string };

/** Ended is how an operation finished. */
export interface Ended {
  readonly id: string;
  readonly kind: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  readonly error: string | null;
}

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
// A fallback read of the operation, in case it ended before the subscription was listening.
const POLL_MS = 5_000;

/**
 * waitFor waits until an operation ends, drawing its progress line on stderr when that is a
 * terminal: import percentage, bytes and rate; migration phase, bytes and ETA. Ctrl-C stops
 * waiting (the operation goes on).
 */
export async function waitFor(
  ctx: CommandContext,
  operationId: string,
  label: string,
): Promise<Ended> {
  const api = ctx.api();
  const progress = new ProgressDisplay(ctx);
  let kind = 'operation';
  const show = (m: Moment) =>
    progress.show({
      label,
      fraction: m.progress,
      phase: phaseOf(m),
      transfer: transferOf(m, progress),
    });
  const ended = await interruptible(ctx.terminal, async (signal) => {
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const poll = async (): Promise<Moment> => {
      const now = await momentOf(api, operationId);
      if (!now) throw new CliError('NOT_FOUND', `no operation ${operationId}`);
      kind = now.kind;
      return now;
    };
    try {
      const first = await poll();
      if (FINISHED.has(first.status)) return first;
      show(first);
      const polling = (async () => {
        while (!both.aborted) {
          await new Promise((r) => setTimeout(r, POLL_MS).unref());
          const now = await poll();
          if (FINISHED.has(now.status)) return now;
        }
        return null;
      })();
      const streaming = (async () => {
        for await (const data of api.subscribe(UPDATES, { id: operationId }, both)) {
          const m = { ...data.operationUpdated, kind };
          show(m);
          if (FINISHED.has(m.status)) return m;
        }
        return null;
      })();
      return await Promise.race([polling, streaming].map((p) => p.then((m) => m ?? never(both))));
    } finally {
      stop.abort();
      progress.clear();
    }
  }).catch((err: unknown) => {
    if (err instanceof Interrupted)
      throw new CliError(
        'INTERRUPTED',
        `stopped waiting; operation ${shortId(operationId)} goes on`,
        {
          hint: `follow it with \`kumo operation watch ${shortId(operationId)}\`, stop it with \`kumo operation cancel ${shortId(operationId)}\``,
        },
      );
    throw err;
  });
  return {
    id: operationId,
    kind: ended.kind,
    status: ended.status as Ended['status'],
    error: ended.error ?? null,
  };
}

/** succeeded returns an ended operation that succeeded, and throws (REFUSED) one that did not. */
export function succeeded(ended: Ended, label: string): Ended {
  if (ended.status === 'SUCCEEDED') return ended;
  throw new CliError(
    'REFUSED',
    `${label} ${ended.status.toLowerCase()}: ${ended.error ?? 'no reason given'}`,
  );
}

class Interrupted extends Error {}

// A stream that ended without the operation ending: wait until the other source settles it, or
// report an interruption when that is why it ended.
function never(signal: AbortSignal): Promise<Moment> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(new Interrupted());
    else signal.addEventListener('abort', () => reject(new Interrupted()), { once: true });
  });
}

async function momentOf(api: Api, id: string): Promise<Moment | null> {
  const { node } = await api.request(NOW, { id });
  return node && 'status' in node ? node : null;
}

function phaseOf(m: Moment): string | null {
  if (!m.migration) return m.phase ?? null;
  const phase = m.migration.phase.toLowerCase().replaceAll('_', ' ');
  return m.migration.iteration > 1 ? `${phase}, pass ${m.migration.iteration}` : phase;
}

function transferOf(m: Moment, progress: ProgressDisplay): TransferFigures | null {
  if (m.migration) {
    const g = m.migration;
    const done = g.memoryProcessedBytes + g.diskProcessedBytes;
    const total = g.memoryTotalBytes + g.diskTotalBytes;
    return {
      done,
      total: total || null,
      bytesPerSecond: g.bytesPerSecond || null,
      secondsLeft:
        g.remainingMs === null || g.remainingMs === undefined ? null : g.remainingMs / 1000,
    };
  }
  return m.transfer && progress.transfer(m.transfer.transferredBytes, m.transfer.totalBytes);
}

/**
 * followed ends a command that started an operation: with --no-wait it reports the operation
 * (its id is what --quiet prints); otherwise it waits, then reports what `then` makes of the
 * result.
 */
export async function followed(
  ctx: CommandContext,
  operation: { readonly id: string } | null | undefined,
  label: string,
  then: () => Promise<Output> | Output,
): Promise<Output> {
  if (!operation) return then();
  if (!ctx.wait)
    return done(`${label}: operation ${shortId(operation.id)} started`, {
      id: operation.id,
      operation: operation.id,
    });
  succeeded(await waitFor(ctx, operation.id, label), label);
  return then();
}
