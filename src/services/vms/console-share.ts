import { Duplex } from 'node:stream';
import type { ReplicaId, VmId } from '../../entities/ids.ts';
import { isServiceError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { LockStore } from '../locks.ts';

/** ConsoleBytes carry a console's output (from the replica holding it) or input (to it). */
export interface ConsoleBytes {
  readonly vmId: VmId;
  readonly replica: ReplicaId;
  /** data is base64: the bus carries JSON. */
  readonly data: string;
}

/** ConsoleNotice: a replica still reads a console held elsewhere (keep), or the console ended. */
export interface ConsoleNotice {
  readonly vmId: VmId;
  readonly replica: ReplicaId;
}

// Readers elsewhere say they are still there this often; the holder keeps the console open
// for them three times that long after the last word.
const KEEP_MS = 2000;

interface Held {
  readonly stream: Duplex;
  readonly release: () => Promise<void>;
  readonly local: Set<Duplex>;
  remoteUntil: number;
  timer: NodeJS.Timeout | null;
}

/**
 * ConsoleShare lets every replica read and type into one VM's console, which libvirt gives to
 * one client at a time: the first replica to open it holds it (a `console:<vm>` row lock) and
 * passes its output over the bus; the others get a stream made of that output, whose writes
 * go to the holder. The holder keeps the console open while others still read (they say so
 * every KEEP_MS); a reader elsewhere whose holder is gone ends, and opening again makes it the
 * holder.
 */
export class ConsoleShare {
  private readonly events: EventBus;
  private readonly locks: LockStore;
  private readonly replica: ReplicaId;
  private readonly held = new Map<VmId, Held>();
  private readonly remote = new Map<VmId, Set<Duplex>>();

  constructor(events: EventBus, locks: LockStore, replica: ReplicaId) {
    this.events = events;
    this.locks = locks;
    this.replica = replica;
  }

  /** start follows the bus; the returned function stops. */
  start(): () => void {
    const offs = [
      this.events.listen('consoleOutput', (b) => {
        if (b.replica === this.replica) return;
        const chunk = Buffer.from(b.data, 'base64');
        for (const d of this.remote.get(b.vmId) ?? []) d.push(chunk);
      }),
      this.events.listen('consoleInput', (b) => {
        const h = this.held.get(b.vmId);
        if (h && b.replica !== this.replica) h.stream.write(Buffer.from(b.data, 'base64'));
      }),
      this.events.listen('consoleKeep', (n) => {
        const h = this.held.get(n.vmId);
        if (h && n.replica !== this.replica) h.remoteUntil = Date.now() + 3 * KEEP_MS;
      }),
      this.events.listen('consoleEnded', (n) => {
        if (n.replica === this.replica) return;
        for (const d of this.remote.get(n.vmId) ?? []) d.push(null);
      }),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /**
   * open gives a stream of the VM's console: the console itself (opened with `openLocal`) when
   * this replica holds it or can take it, else one relayed from the replica that holds it.
   */
  async open(vmId: VmId, openLocal: () => Promise<Duplex>): Promise<Duplex> {
    const held = this.held.get(vmId);
    if (held) return this.localReader(vmId, held);
    let release: (() => Promise<void>) | null = null;
    try {
      release = await this.locks.take(`console:${vmId}`, 'a console', 0);
    } catch (err) {
      if (!(isServiceError(err) && err.code === 'CONFLICT')) throw err;
    }
    if (!release) return this.remoteReader(vmId);
    let stream: Duplex;
    try {
      stream = await openLocal();
    } catch (err) {
      await release();
      throw err;
    }
    return this.localReader(vmId, this.hold(vmId, stream, release));
  }

  private hold(vmId: VmId, stream: Duplex, release: () => Promise<void>): Held {
    const h: Held = { stream, release, local: new Set(), remoteUntil: 0, timer: null };
    this.held.set(vmId, h);
    stream.on('data', (chunk: Buffer) => {
      for (const d of h.local) d.push(chunk);
      this.events.publish('consoleOutput', {
        vmId,
        replica: this.replica,
        data: chunk.toString('base64'),
      });
    });
    const gone = () => this.letGo(vmId, h);
    stream.once('end', gone);
    stream.once('close', gone);
    stream.once('error', gone);
    return h;
  }

  // Ends the console for everyone, here and elsewhere, and frees it.
  private letGo(vmId: VmId, h: Held): void {
    if (this.held.get(vmId) !== h) return;
    this.held.delete(vmId);
    if (h.timer) clearTimeout(h.timer);
    for (const d of h.local) d.push(null);
    h.stream.destroy();
    this.events.publish('consoleEnded', { vmId, replica: this.replica });
    void h.release().catch(() => undefined);
  }

  // The last reader here gone: the console stays while readers elsewhere still say they read.
  private released(vmId: VmId, h: Held): void {
    if (h.local.size > 0 || this.held.get(vmId) !== h) return;
    const left = h.remoteUntil - Date.now();
    if (left <= 0) {
      this.letGo(vmId, h);
      return;
    }
    if (h.timer) clearTimeout(h.timer);
    h.timer = setTimeout(() => this.released(vmId, h), left);
    h.timer.unref();
  }

  private localReader(vmId: VmId, h: Held): Duplex {
    const d = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => {
        h.stream.write(chunk, done);
      },
      destroy: (err, done) => {
        h.local.delete(d);
        this.released(vmId, h);
        done(err);
      },
    });
    h.local.add(d);
    return d;
  }

  private remoteReader(vmId: VmId): Duplex {
    const readers = this.remote.get(vmId) ?? new Set<Duplex>();
    this.remote.set(vmId, readers);
    // Saying it still reads, and ending when the holder is gone (its replica died with it).
    const keep = () => {
      this.events.publish('consoleKeep', { vmId, replica: this.replica });
      void this.locks.held(`console:${vmId}`).then(
        (held) => {
          if (!held) d.push(null);
        },
        () => undefined,
      );
    };
    const timer = setInterval(keep, KEEP_MS);
    timer.unref();
    const d = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, done) => {
        this.events.publish('consoleInput', {
          vmId,
          replica: this.replica,
          data: chunk.toString('base64'),
        });
        done();
      },
      destroy: (err, done) => {
        clearInterval(timer);
        readers.delete(d);
        if (readers.size === 0 && this.remote.get(vmId) === readers) this.remote.delete(vmId);
        done(err);
      },
    });
    readers.add(d);
    this.events.publish('consoleKeep', { vmId, replica: this.replica });
    return d;
  }
}
