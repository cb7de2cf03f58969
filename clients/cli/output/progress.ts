import type { Terminal } from '../terminal.ts';
import { bytes, duration } from './format.ts';
import type { OutputMode } from './render.ts';
import type { Style } from './style.ts';

/** TransferFigures is what a progress line shows of bytes moving: done, total, rate, time left. */
export interface TransferFigures {
  readonly done: number;
  readonly total: number | null;
  readonly bytesPerSecond: number | null;
  readonly secondsLeft: number | null;
}

/** ProgressView is one moment of a long operation as its progress line shows it. */
export interface ProgressView {
  readonly label: string;
  /** fraction is from 0 to 1. */
  readonly fraction: number;
  readonly phase: string | null;
  readonly transfer: TransferFigures | null;
}

const BAR = 24;

/** progressLine is a one-line picture of an operation: label, bar, percent, bytes, rate, ETA. */
export function progressLine(v: ProgressView, style: Style, columns: number): string {
  const f = Math.min(1, Math.max(0, v.fraction));
  const filled = Math.round(f * BAR);
  const parts = [
    `${v.label}`,
    `[${style.green('#'.repeat(filled))}${style.dim('-'.repeat(BAR - filled))}]`,
    `${String(Math.floor(f * 100)).padStart(3)}%`,
  ];
  const t = v.transfer;
  if (t) {
    parts.push(t.total ? `${bytes(t.done)} of ${bytes(t.total)}` : bytes(t.done));
    if (t.bytesPerSecond !== null) parts.push(`${bytes(t.bytesPerSecond)}/s`);
    if (t.secondsLeft !== null) parts.push(`ETA ${duration(t.secondsLeft)}`);
  }
  if (v.phase) parts.push(style.dim(v.phase));
  return clip(parts.join('  '), columns - 1);
}

// Cuts a line to the terminal's width, counting only visible characters.
function clip(line: string, width: number): string {
  let visible = 0;
  let out = '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes take no columns
  for (const piece of line.split(/(\u001b\[[0-9;]*m)/)) {
    if (piece.startsWith('\u001b[')) {
      out += piece;
      continue;
    }
    const room = width - visible;
    out += [...piece].slice(0, Math.max(0, room)).join('');
    visible += Math.min([...piece].length, Math.max(0, room));
  }
  return out;
}

/**
 * ProgressDisplay keeps one long operation's progress line on stderr, redrawn in place, when
 * stderr is a terminal (and not with --quiet); otherwise it draws nothing.
 */
export class ProgressDisplay {
  private readonly meter = new RateMeter();
  private readonly draw: boolean;
  private readonly ctx: {
    readonly terminal: Terminal;
    readonly style: Style;
    readonly mode: OutputMode;
  };

  constructor(ctx: ProgressDisplay['ctx']) {
    this.ctx = ctx;
    this.draw = ctx.terminal.errIsTTY && ctx.mode !== 'quiet';
  }

  /** transfer is the figures of `done` bytes of `total`, with a smoothed rate and time left. */
  transfer(done: number, total: number | null): TransferFigures {
    const rate = this.meter.add(done);
    return {
      done,
      total,
      bytesPerSecond: rate,
      secondsLeft: rate && total ? (total - done) / rate : null,
    };
  }

  show(view: ProgressView): void {
    if (!this.draw) return;
    const line = progressLine(view, this.ctx.style, this.ctx.terminal.columns);
    this.ctx.terminal.err(`\r\u001b[K${line}`);
  }

  /** clear removes the line, before what the command prints when it is done. */
  clear(): void {
    if (this.draw) this.ctx.terminal.err('\r\u001b[K');
  }
}

// Turns successive byte counts into a rate, smoothed so one slow read does not make the
// estimate jump.
class RateMeter {
  private last: { at: number; bytes: number } | null = null;
  private rate: number | null = null;

  /** add records `bytes` done at time `at` (ms) and returns the smoothed rate, bytes/s. */
  add(bytesDone: number, at = Date.now()): number | null {
    const last = this.last;
    if (!last || bytesDone < last.bytes) {
      this.last = { at, bytes: bytesDone };
      return this.rate;
    }
    const seconds = (at - last.at) / 1000;
    if (seconds < 0.2) return this.rate;
    const now = (bytesDone - last.bytes) / seconds;
    this.rate = this.rate === null ? now : this.rate * 0.7 + now * 0.3;
    this.last = { at, bytes: bytesDone };
    return this.rate;
  }
}
