import { TransportError } from './failure.ts';

/** connectError turns a socket-level connect failure into a `transport` error that says what to check. */
export function connectError(err: NodeJS.ErrnoException, where: string): TransportError {
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the daemon listening there?)',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ETIMEDOUT: 'connection timed out',
    ENOENT: 'no such socket',
    EACCES: 'permission denied',
    ENOTFOUND: 'host name not found',
  };
  const reason = (err.code && why[err.code]) ?? err.message;
  return new TransportError('transport', 'unreachable', `cannot connect to ${where}: ${reason}`, {
    cause: err,
  });
}

/** withTimeout rejects with a `transport` error when `p` takes longer than `ms`. */
export function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  where: string,
  onTimeout: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(
        new TransportError(
          'transport',
          'unreachable',
          `cannot connect to ${where}: no answer within ${ms} ms`,
        ),
      );
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
