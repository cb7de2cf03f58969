import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** forceGc returns a function forcing a full collection (vitest does not pass --expose-gc). */
export function forceGc(): () => void {
  setFlagsFromString('--expose-gc');
  const f: unknown = runInNewContext('gc');
  if (typeof f !== 'function') throw new Error('cannot get gc');
  return f as () => void;
}
