import { describe, expect, it } from 'vitest';
import type { ExecutionId } from '../../entities/ids.ts';
import { type OutputEvent, OutputLog, OutputLogs } from './output-log.ts';

const RUNNING = { state: 'RUNNING', exitCode: null, signal: null, error: null } as const;
const DONE = { state: 'FINISHED', exitCode: 0, signal: null, error: null } as const;

async function all(events: AsyncGenerator<OutputEvent>): Promise<OutputEvent[]> {
  const out: OutputEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const brief = (events: OutputEvent[]) =>
  events.map((e) =>
    e.kind === 'line'
      ? `${e.seq} ${e.text}`
      : e.kind === 'state'
        ? `${e.seq} ${e.state}`
        : `gap ${e.seq} ${e.missed}`,
  );

describe('OutputLog', () => {
  it('gives a follower what was written before and after it came, then ends with the final state', async () => {
    const log = new OutputLog(1 << 20);
    log.state(RUNNING, false);
    log.line('STDOUT', 'one');
    const following = all(log.follow());
    log.line('STDERR', 'two');
    await new Promise((r) => setTimeout(r, 5));
    log.line('STDOUT', 'three');
    log.state(DONE, true);
    expect(brief(await following)).toEqual([
      '1 RUNNING',
      '2 one',
      '3 two',
      '4 three',
      '5 FINISHED',
    ]);
    // A follower that comes back goes on after the last event it saw.
    expect(brief(await all(log.follow(3)))).toEqual(['4 three', '5 FINISHED']);
  });

  it('drops the oldest events past its bound and says how many a follower missed', async () => {
    const log = new OutputLog(1000);
    for (let i = 1; i <= 50; i++) log.line('STDOUT', `line ${i}`);
    log.state(DONE, true);
    expect(log.bytes).toBeLessThanOrEqual(1000);
    const events = await all(log.follow());
    const gap = events[0];
    expect(gap?.kind).toBe('gap');
    const first = events[1];
    expect(gap).toEqual({ kind: 'gap', seq: first?.seq, missed: (first?.seq ?? 0) - 1 });
    expect(brief(events).at(-1)).toBe('51 FINISHED');
  });
});

describe('a mirrored OutputLog', () => {
  it('holds what another replica wrote with its numbers, skips repeats, and shows a hole as a gap', async () => {
    const heard: Array<{ e: OutputEvent; final: boolean }> = [];
    const source = new OutputLog(1 << 20, (e) =>
      heard.push({ e, final: e.kind === 'state' && e.state === 'FINISHED' }),
    );
    const mirror = new OutputLog(1 << 20);
    source.state(RUNNING, false);
    source.line('STDOUT', 'one');
    source.line('STDOUT', 'two');
    source.line('STDOUT', 'three');
    source.state(DONE, true);
    const [first, , second, third, last] = heard;
    // It came in after the first event, hears the second twice and misses it once.
    const following = all(mirror.follow());
    for (const h of [second, second, third, last]) {
      if (h && h.e.kind !== 'gap') mirror.mirror(h.e, h.final);
    }
    expect(first).toBeDefined();
    expect(brief(await following)).toEqual(['gap 3 2', '3 two', '4 three', '5 FINISHED']);
    expect(mirror.endedAt).not.toBeNull();
  });
});

describe('a mirrored OutputLog taken over', () => {
  it('passes over the lines it held when the output is read again from the start', async () => {
    const source = new OutputLog(1 << 20);
    source.state(RUNNING, false);
    source.line('STDOUT', 'one');
    source.line('STDERR', 'warn');
    const mirror = new OutputLog(1 << 20);
    for await (const e of source.follow()) {
      if (e.kind !== 'gap') mirror.mirror(e, false);
      if (e.seq === 3) break;
    }
    const passed: OutputEvent[] = [];
    mirror.takeOver((e) => passed.push(e));
    expect(mirror.lastState()).toBe('RUNNING');
    // The command's files read again from the start, then what it printed since.
    mirror.line('STDOUT', 'one');
    mirror.line('STDERR', 'warn');
    mirror.line('STDOUT', 'two');
    mirror.state(DONE, true);
    expect(brief(await all(mirror.follow()))).toEqual([
      '1 RUNNING',
      '2 one',
      '3 warn',
      '4 two',
      '5 FINISHED',
    ]);
    expect(brief(passed)).toEqual(['4 two', '5 FINISHED']);
  });
});

describe('OutputLogs', () => {
  it('drops ended logs, oldest first, to stay under the total; running ones stay', () => {
    const logs = new OutputLogs({
      perExecutionBytes: 10_000,
      totalBytes: 5000,
      retentionMs: 3_600_000,
    });
    const ids = ['a', 'b', 'c'] as ExecutionId[];
    const [a, b] = ids.map((id) => logs.open(id));
    for (const log of [a, b]) for (let i = 0; i < 20; i++) log?.line('STDOUT', 'x'.repeat(50));
    b?.state(DONE, true);
    a?.state(RUNNING, false);
    logs.open('d' as ExecutionId);
    expect(logs.get('a' as ExecutionId)).toBe(a);
    expect(logs.get('b' as ExecutionId)).toBeUndefined();
  });
});
