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

/** HeldEvent is an event a log holds: a line or a state. */
export type HeldEvent = Exclude<OutputEvent, { kind: 'gap' }>;
type Held = HeldEvent;

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
  private pushed: ((e: HeldEvent) => void) | null;
  // Lines of each stream already held, to pass over when a taken-over command's output is read
  // again from its start (takeOver).
  private readonly skip: Record<ExecStream, number> = { STDOUT: 0, STDERR: 0 };

  /** `pushed` hears each event written here (not mirrored), to pass on to other replicas. */
  constructor(maxBytes: number, pushed: ((e: HeldEvent) => void) | null = null) {
    this.maxBytes = maxBytes;
    this.pushed = pushed;
    this.woken = this.sleep();
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  line(stream: ExecStream, text: string): void {
    if (this.skip[stream] > 0) {
      this.skip[stream]--;
      return;
    }
    this.write({ kind: 'line', seq: this.next++, at: new Date(), stream, text });
  }

  state(status: ExecStatus, final: boolean): void {
    this.write({ kind: 'state', seq: this.next++, at: new Date(), ...status }, final);
  }

  /**
   * mirror holds an event written on another replica, with its number: one already held is
   * ignored, and one past a hole (events this replica never heard) starts the log afresh
   * from it, so that followers see a gap rather than a jump.
   */
  mirror(e: HeldEvent, final: boolean): void {
    if (e.seq < this.next) return;
    if (e.seq > this.next) {
      this.events.length = 0;
      this.bytesHeld = 0;
      this.next = e.seq;
    }
    this.next++;
    this.push(e);
    if (final) this.endedAt = Date.now();
  }

  /**
   * takeOver makes a mirrored log this replica's own, its command taken over from a replica
   * that died: what it writes now is passed on with `pushed`, and the lines it held already
   * are not held twice when the command's output is read again from the start. A log that
   * missed or dropped events cannot tell which lines those were: they then come again.
   */
  takeOver(pushed: ((e: HeldEvent) => void) | null): void {
    this.pushed = pushed;
    if (this.events[0]?.seq !== 1) return;
    for (const e of this.events) if (e.kind === 'line') this.skip[e.stream]++;
  }

  /** lastState is the state of the last state event held, or null. */
  lastState(): ExecStatus['state'] | null {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e?.kind === 'state') return e.state;
    }
    return null;
  }

  private write(e: HeldEvent, final = false): void {
    this.push(e);
    if (final) this.endedAt = Date.now();
    this.pushed?.(e);
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
  private relay: ((id: ExecutionId, e: HeldEvent, final: boolean) => void) | null = null;

  constructor(limits: OutputLimits) {
    this.limits = limits;
  }

  /** relayTo passes every event written here on (to the other replicas: ExecOutputRelay). */
  relayTo(relay: (id: ExecutionId, e: HeldEvent, final: boolean) => void): void {
    this.relay = relay;
  }

  /** open makes the log of a new execution. */
  open(id: ExecutionId): OutputLog {
    this.prune();
    const relay = this.relay;
    const log = new OutputLog(
      this.limits.perExecutionBytes,
      relay ? (e) => relay(id, e, log.endedAt !== null) : null,
    );
    this.logs.set(id, log);
    return log;
  }

  /**
   * resume is the log of an execution whose command is followed again: the mirror of it this
   * replica held (taken over), or a new one.
   */
  resume(id: ExecutionId): OutputLog {
    const held = this.logs.get(id);
    if (!held) return this.open(id);
    const relay = this.relay;
    held.takeOver(relay ? (e) => relay(id, e, held.endedAt !== null) : null);
    return held;
  }

  /** mirrored is the log of an execution that runs on another replica, made when first asked. */
  mirrored(id: ExecutionId): OutputLog {
    const log = this.logs.get(id);
    if (log) return log;
    this.prune();
    const made = new OutputLog(this.limits.perExecutionBytes);
    this.logs.set(id, made);
    return made;
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
