import type { ChainableCommander } from 'ioredis';

/**
 * transaction runs a MULTI built on `multi` and returns its replies in order; the first command
 * that failed fails it all.
 */
export async function transaction(multi: ChainableCommander): Promise<unknown[]> {
  const results = await multi.exec();
  if (!results) throw new Error('the Redis transaction was aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
