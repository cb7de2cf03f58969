/**
 * leavable lets a subscription's stream end as soon as its client leaves. The stream is an async
 * generator reading `events` (a bus subscription): asked to return while it waits for the next
 * event, a generator returns only once that event comes — on a quiet topic, never — holding the
 * listener and everything the subscription holds. Ending `events` first ends its wait at once.
 */
export function leavable<T>(
  events: AsyncIterator<unknown>,
  stream: AsyncGenerator<T>,
): AsyncGenerator<T> {
  const close = stream.return.bind(stream);
  stream.return = async (value) => {
    await events.return?.();
    return close(value);
  };
  return stream;
}
