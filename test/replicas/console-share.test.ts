// One VM console shared by two replicas on one bus and one database: the first holds it, the
// other reads and types through it; the end of the console ends both. (The bus is in-process
// here, standing for Redis; the console a stream the test writes the guest's side of.)
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicaId, VmId } from '../../src/entities/ids.ts';
import { Replica } from '../../src/entities/replica.ts';
import { createEventBus } from '../../src/services/events.ts';
import { RowLocks } from '../../src/services/replicas/row-locks.ts';
import { ConsoleShare } from '../../src/services/vms/console-share.ts';
import { type Opened, openFresh } from '../db/support.ts';
import { consoleStream } from '../support/console-stream.ts';
import { until } from '../support/wait.ts';

let opened: Opened | null = null;
const stops: Array<() => void> = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await opened?.cleanup();
  opened = null;
});

function collect(d: Duplex): { text: () => string; ended: Promise<void> } {
  let text = '';
  d.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return { text: () => text, ended: new Promise((r) => d.once('end', () => r())) };
}

describe('a console shared by replicas', () => {
  it('is held by the first to open it, read and typed into through it by the other, and ends for both', async () => {
    opened = await openFresh('sqlite');
    const db = opened.db;
    const em = db.fork();
    const [a, b] = ['a', 'b'].map(
      (n) => em.create(Replica, { name: n, url: `http://${n}`, seenAt: new Date() }).id,
    ) as [ReplicaId, ReplicaId];
    await em.flush();
    const bus = createEventBus();
    const shareA = new ConsoleShare(bus, new RowLocks(() => db.fork(), a), a);
    const shareB = new ConsoleShare(bus, new RowLocks(() => db.fork(), b), b);
    stops.push(shareA.start(), shareB.start());
    const vm = 'vm-1' as VmId;
    const { stream, guest, typed } = consoleStream();
    let opens = 0;
    const openLocal = async () => {
      opens++;
      return stream;
    };
    const onA = await shareA.open(vm, openLocal);
    const onB = await shareB.open(vm, openLocal);
    // Only A opened the console; B reads it through A.
    expect(opens).toBe(1);
    const readA = collect(onA);
    const readB = collect(onB);
    guest.write('login: ');
    await until(
      async () => (readA.text() === 'login: ' && readB.text() === 'login: ' ? true : undefined),
      2000,
      'both readers to see the output',
    );
    onB.write('root\n');
    onA.write('ls\n');
    await until(
      async () => (Buffer.concat(typed).toString() === 'root\nls\n' ? true : undefined),
      2000,
      'the typing of both to reach the guest',
    );
    // A's reader leaves; B still reads (it says so), so A keeps the console open for it.
    onA.destroy();
    guest.write('$ ');
    await until(async () => (readB.text().endsWith('$ ') ? true : undefined), 2000, 'B to read on');
    guest.end();
    await readB.ended;
    const locks = new RowLocks(() => db.fork(), b);
    await until(
      async () => ((await locks.held(`console:${vm}`)) ? undefined : true),
      2000,
      'the console to be free',
    );
  });
});
