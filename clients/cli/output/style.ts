/** Style colors text for a terminal, or leaves it plain. */
export interface Style {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  /** state colors a resource state by what it means: running green, failed red, busy yellow. */
  state(s: string): string;
}

/** useColor says whether to color: only on a terminal, and never with NO_COLOR or --no-color. */
export function useColor(isTTY: boolean, env: NodeJS.ProcessEnv, noColorFlag: boolean): boolean {
  return isTTY && !noColorFlag && !env.NO_COLOR && env.TERM !== 'dumb';
}

const GOOD = new Set(['RUNNING', 'AVAILABLE', 'ONLINE', 'SUCCEEDED', 'VALID', 'IMPORTED', 'OK']);
const BAD = new Set(['ERROR', 'FAILED', 'OFFLINE', 'REJECTED', 'EXPIRED', 'CRASHED', 'UNKNOWN']);

/** makeStyle returns a Style that colors when `enabled`. */
export function makeStyle(enabled: boolean): Style {
  const sgr = (on: number, off: number) => (s: string) =>
    enabled ? `\u001b[${on}m${s}\u001b[${off}m` : s;
  const red = sgr(31, 39);
  const green = sgr(32, 39);
  const yellow = sgr(33, 39);
  return {
    enabled,
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red,
    green,
    yellow,
    state: (s) => (GOOD.has(s) ? green(s) : BAD.has(s) ? red(s) : yellow(s)),
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escapes is the point
const ANSI = /\u001b\[[0-9;]*m/g;

/** visibleWidth is how many columns text takes on a terminal, escapes left out. */
export function visibleWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}
