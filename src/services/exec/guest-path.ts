import { posix } from 'node:path';
import { ServiceError } from '../errors.ts';

const MAX_PATH = 4096;

/**
 * checkGuestPath refuses a delivery path that is not absolute and plain (no `..`, `.` or empty
 * segments, no control characters), or that is not inside one of the allowed directories. The
 * guest's own symlinks are its owner's business: the controller cannot see them.
 */
export function checkGuestPath(path: string, allowed: readonly string[], field: string): void {
  const bad = (why: string) => new ServiceError('INVALID', `the path ${why}`, field);
  if (path.length === 0 || path.length > MAX_PATH) throw bad(`must be 1 to ${MAX_PATH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (/[\u0000-\u001f\u007f]/.test(path)) throw bad('must not hold control characters');
  if (!path.startsWith('/')) throw bad('must be absolute');
  if (path.endsWith('/') || posix.normalize(path) !== path || path.split('/').includes('..'))
    throw bad('must name a file plainly (no `..`, `.`, `//` or trailing `/`)');
  const inside = allowed.some((dir) => path.startsWith(dir.endsWith('/') ? dir : `${dir}/`));
  if (!inside)
    throw bad(
      allowed.length === 0
        ? 'is refused: this cloud allows no file deliveries'
        : `must be inside ${allowed.join(', ')}`,
    );
}
