import type { Duplex } from 'node:stream';

/** QUEUE_LIMIT is how many frames may wait before writers are asked to hold off (backpressure). */
const QUEUE_LIMIT = 8;

/**
 * FrameWriter sends frames one socket write at a time, each write starting only once the
 * previous one was handed to the kernel. libvirtd 9.0 reads one message per wake-up of its
 * event loop and cannot see data left in its TLS layer's buffer; Node's TLS socket merges
 * queued writes into one TLS record, so two frames written together would leave the second
 * stuck on the daemon until more bytes arrive. One frame per write means one per TLS record,
 * as libvirt's own client sends them.
 */
export class FrameWriter {
  private readonly socket: Duplex;
  private readonly queue: Buffer[] = [];
  private writing = false;
  private readonly drained: Array<() => void> = [];

  constructor(socket: Duplex) {
    this.socket = socket;
  }

  /** write queues one frame; false asks the caller to wait for onceDrained before more. */
  write(frame: Buffer): boolean {
    this.queue.push(frame);
    if (!this.writing) this.next();
    return this.queue.length < QUEUE_LIMIT && !this.socket.writableNeedDrain;
  }

  /** onceDrained calls back when the queue is short again and the socket accepts more. */
  onceDrained(cb: () => void): void {
    if (this.queue.length < QUEUE_LIMIT && !this.socket.writableNeedDrain) cb();
    else this.drained.push(cb);
  }

  /** abandon drops queued frames and releases waiting writers (the connection is gone). */
  abandon(): void {
    this.queue.length = 0;
    this.release();
  }

  private next(): void {
    const frame = this.queue.shift();
    if (!frame || this.socket.destroyed) {
      this.writing = false;
      this.release();
      return;
    }
    this.writing = true;
    this.socket.write(frame, () => this.next());
    if (this.queue.length < QUEUE_LIMIT && !this.socket.writableNeedDrain) this.release();
    else if (this.socket.writableNeedDrain) this.socket.once('drain', () => this.release());
  }

  private release(): void {
    if (this.queue.length >= QUEUE_LIMIT || this.socket.writableNeedDrain) return;
    for (const cb of this.drained.splice(0)) cb();
  }
}
