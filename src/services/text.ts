import { ServiceError } from './errors.ts';

/** MAX_DESCRIPTION is the longest description an image, VM or snapshot may have. */
export const MAX_DESCRIPTION = 4096;

/**
 * containsPattern is a LIKE pattern matching values that contain `text`, its own `%`, `_` and
 * backslashes escaped so they match themselves.
 */
export function containsPattern(text: string): string {
  return `%${text.replaceAll(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** checkLabel trims a display name and refuses empty, over-long or control-character names. */
export function checkLabel(name: string, what: string, max: number, field = 'input.name'): string {
  const n = name.trim();
  if (n.length === 0 || n.length > max || /\p{Cc}/u.test(n))
    throw new ServiceError(
      'INVALID',
      `${what} is 1-${max} characters, without control characters`,
      field,
    );
  return n;
}

/** checkDescription refuses a description over MAX_DESCRIPTION characters. */
export function checkDescription(d: string): string {
  if (d.length > MAX_DESCRIPTION)
    throw new ServiceError(
      'INVALID',
      `a description is at most ${MAX_DESCRIPTION} characters`,
      'input.description',
    );
  return d;
}
