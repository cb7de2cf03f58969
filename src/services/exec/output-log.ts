import type { ExecutionState } from '../../entities/execution.ts';
import type { ExecutionId } from '../../entities/ids.ts';

/** ExecStream names where a line came from. */
export type ExecStream = 'STDOUT' | 'STDERR';

/** ExecStatus is what an execution is doing, or how it ended. */
export interface ExecStatus {
  readonly state: ExecutionState;
  readonly exitCode: number | null;
  readonly signal: number | null;
  readonly error: string | null;
}

/**
 * OutputEvent is one thing an execution's output says, numbered from 1 in order: a line of
 * stdout or stderr, or a change of state (the last one is final). A `gap` says events before
 * `seq` are no longer held (`missed` of them, null when not known).
 */
export type OutputEvent =
  | {
      readonly kind: 'line';
      readonly seq: number;
      readonly at: Date;
      readonly stream: ExecStream;
      readonly text: string;
    }
  | ({ readonly kind: 'state'; readonly seq: number; readonly at: Date } & ExecStatus)
  | { readonly kind: 'gap'; readonly seq: number; readonly missed: number | null };

type Held = Exclude<OutputEvent, { kind: 'gap' }>;

// What an event costs against the bounds: its text plus a fixed overhead.
const EVENT_OVERHEAD = 64;
const cost = (e: Held) => EVENT_OVERHEAD + (e.kind === 'line' ? e.text.length * 2 : 0);

/**
 * OutputLog holds one execution's output events, up to `maxBytes` (oldest dropped first), and
 * lets any number of subscribers follow it from any point, each at its own pace: a subscriber
 * that reconnects asks for what came after the last event it saw.
 */
export class OutputLog {
  private readonly events: Held[] = [];
  private readonly maxBytes: number;
  private next = 1;
  private bytesHeld = 0;
  private wake: (() => void) | null = null;
  private woken: Promise<void>;
  /** endedAt is when the final state was recorded; null while the execution runs. */
  endedAt: number | null = null;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    this.woken = this.sleep();
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  line(stream: ExecStream, text: string): void {
    this.push({ kind: 'line', seq: this.next++, at: new Date(), stream, text });
  }

  state(status: ExecStatus, final: boolean): void {
    this.push({ kind: 'state', seq: this.next++, at: new Date(), ...status });
    if (final) this.endedAt = Date.now();
  }

  /**
   * follow yields the events after `after` (0: from the start), then new ones as they come,
   * and returns after the final state. A `gap` comes first when some were dropped.
   */
  async *follow(after = 0): AsyncGenerator<OutputEvent> {
    let seen = Math.max(0, after);
    for (;;) {
      const first = this.events[0]?.seq ?? this.next;
      if (first > seen + 1) {
        yield { kind: 'gap', seq: first, missed: first - seen - 1 };
        seen = first - 1;
      }
      const woken = this.woken;
      for (const e of this.events.slice(seen - first + 1)) {
        yield e;
        seen = e.seq;
      }
      if (this.endedAt !== null && seen >= this.next - 1) return;
      if (seen >= this.next - 1) await woken;
    }
  }

  private push(e: Held): void {
    this.events.push(e);
    this.bytesHeld += cost(e);
    // The newest event always stays, so the final state is never lost.
    while (this.bytesHeld > this.maxBytes && this.events.length > 1) {
      const dropped = this.events.shift();
      if (dropped) this.bytesHeld -= cost(dropped);
    }
    const wake = this.wake;
    this.woken = this.sleep();
    wake?.();
  }

  private sleep(): Promise<void> {
    return new Promise((r) => {
      this.wake = r;
    });
  }
}

/** OutputLimits bound what output the controller holds. */
export interface OutputLimits {
  /** perExecutionBytes bounds one execution's log; older events are dropped. */
  readonly perExecutionBytes: number;
  /** totalBytes bounds all logs: ended ones are dropped, oldest first, to stay under it. */
  readonly totalBytes: number;
  /** retentionMs is how long an ended execution's log is kept. */
  readonly retentionMs: number;
}

/**
 * OutputLogs holds the output of recent executions in memory: each log is bounded, ended ones
 * are kept for a while (and dropped sooner when all of them together are too big). One per
 * controller process; output does not survive a restart.
 */
export class OutputLogs {
  private readonly logs = new Map<ExecutionId, OutputLog>();
  private readonly limits: OutputLimits;

  constructor(limits: OutputLimits) {
    this.limits = limits;
  }

  /** open makes the log of a new execution. */
  open(id: ExecutionId): OutputLog {
    this.prune();
    const log = new OutputLog(this.limits.perExecutionBytes);
    this.logs.set(id, log);
    return log;
  }

  get(id: ExecutionId): OutputLog | undefined {
    return this.logs.get(id);
  }

  private prune(): void {
    const now = Date.now();
    let total = 0;
    for (const [id, log] of this.logs) {
      if (log.endedAt !== null && now - log.endedAt > this.limits.retentionMs) this.logs.delete(id);
      else total += log.bytes;
    }
    // Insertion order is start order: the oldest ended logs go first.
    for (const [id, log] of this.logs) {
      if (total <= this.limits.totalBytes) break;
      if (log.endedAt === null) continue;
      this.logs.delete(id);
      total -= log.bytes;
    }
  }
}
