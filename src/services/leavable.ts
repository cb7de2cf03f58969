/**
 * leavable makes a stream let go of what it holds as soon as its reader leaves. Asked to return
 * while it waits (for the next bus event, the next console bytes), an async generator returns
 * only once that wait ends — on a quiet source, never — and one whose body never ran returns
 * without running its `finally`. `leave` ends the wait, or frees what was taken, first.
 */
export function leavable<T>(stream: AsyncGenerator<T>, leave: () => unknown): AsyncGenerator<T> {
  const close = stream.return.bind(stream);
  stream.return = async (value) => {
    await leave();
    return close(value);
  };
  return stream;
}
