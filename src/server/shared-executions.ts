import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  print,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** ViewerOf says whom a context's results are for (null: results that cannot be shared). */
export type ViewerOf = (context: unknown) => string | null;

type Results = Map<string, Promise<ExecutionResult>>;

/**
 * sharedExecutions executes each subscription event once per distinct (document, variables,
 * viewer) instead of once per subscriber: a thousand people watching one VM's state make one
 * execution, not a thousand. Their results are the same, since an event's fields are resolved
 * from the event and the viewer's rights alone; each subscriber still gets its own message.
 * An event is shared only while it is one object for all subscribers (the bus's).
 */
export function sharedExecutions(viewerOf: ViewerOf): Plugin {
  const results = new WeakMap<object, Results>();
  // A document's text, printed once per parsed document (yoga's cache hands out one per query).
  const documents = new WeakMap<DocumentNode, string>();
  const keyOf = (args: ExecutionArgs): string | null => {
    const viewer = viewerOf(args.contextValue);
    if (viewer === null) return null;
    let doc = documents.get(args.document);
    if (doc === undefined) {
      doc = print(args.document);
      documents.set(args.document, doc);
    }
    return `${doc}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${viewer}`;
  };
  return {
    onSubscribe: ({ setSubscribeFn }) => {
      setSubscribeFn(async (args) => {
        const stream = await createSourceEventStream(args);
        if (!isAsyncIterator(stream)) return stream as ExecutionResult;
        const key = keyOf(args);
        return mapEvents(stream, (event) => {
          const run = () => execute({ ...args, rootValue: event }) as Promise<ExecutionResult>;
          if (key === null || typeof event !== 'object' || event === null) return run();
          let byKey = results.get(event);
          if (!byKey) {
            byKey = new Map();
            results.set(event, byKey);
          }
          let result = byKey.get(key);
          if (!result) {
            result = Promise.resolve(run());
            byKey.set(key, result);
          }
          return result;
        });
      });
    },
  };
}

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

// Maps a source stream; ending the mapped stream ends the source at once, even between events.
function mapEvents<U>(
  source: AsyncIterator<unknown>,
  map: (event: unknown) => Promise<U>,
): AsyncGenerator<U> {
  const mapped: AsyncGenerator<U> = {
    async next() {
      const r = await source.next();
      return r.done ? { done: true, value: undefined } : { done: false, value: await map(r.value) };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
    async [Symbol.asyncDispose]() {
      await source.return?.();
    },
  };
  return mapped;
}
