import { Duplex } from 'node:stream';
import type { LibvirtError } from '../errors.ts';
import type { Procedure, StreamDirection } from './caller.ts';
import { MessageStatus } from './frame.ts';

/** STREAM_CHUNK is the largest data payload we send: libvirt's own chunk size. */
export const STREAM_CHUNK = 262120;

/** StreamLink is what a stream needs from its connection. */
export interface StreamLink {
  /** sendStream writes one STREAM frame; false means the socket wants us to wait for drain. */
  sendStream(proc: Procedure, serial: number, status: number, payload?: Uint8Array): boolean;
  onceDrained(cb: () => void): void;
  /** hold stops (true) or resumes (false) reading the socket on this stream's behalf. */
  holdReading(serial: number, held: boolean): void;
  release(serial: number): void;
}

type StreamState = 'open' | 'finishing' | 'done' | 'aborting';

/**
 * RpcStreamImpl is one libvirt stream over its connection. Writing sends STREAM/CONTINUE
 * frames with socket backpressure; end() sends STREAM/OK and completes when the daemon
 * confirms. Incoming data is pushed to the readable side; when the consumer falls behind the
 * connection stops reading its socket, so memory stays bounded (TCP pushes back on the daemon).
 * The daemon's end-of-data is an empty CONTINUE, which we answer with OK as libvirt does.
 */
export class RpcStreamImpl extends Duplex {
  readonly serial: number;
  private readonly link: StreamLink;
  private readonly proc: Procedure;
  private state: StreamState = 'open';
  private finishCallback: ((err?: Error | null) => void) | null = null;
  private holding = false;

  constructor(link: StreamLink, proc: Procedure, serial: number, direction: StreamDirection) {
    super({ allowHalfOpen: true, readableHighWaterMark: 4 * STREAM_CHUNK });
    this.link = link;
    this.proc = proc;
    this.serial = serial;
    if (direction === 'write') this.push(null);
  }

  /** onData handles a STREAM frame with status CONTINUE. */
  onData(payload: Buffer): void {
    if (this.state === 'aborting' || this.state === 'done') return;
    if (payload.length === 0) {
      this.finishFromPeer();
      return;
    }
    if (!this.push(payload) && !this.holding) {
      this.holding = true;
      this.link.holdReading(this.serial, true);
    }
  }

  /** onFinished handles the daemon's STREAM/OK (our finish confirmed, or its own finish). */
  onFinished(): void {
    if (this.state === 'aborting') {
      this.close();
      return;
    }
    const cb = this.finishCallback;
    this.finishCallback = null;
    this.close();
    if (!this.readableEnded) this.push(null);
    cb?.();
  }

  /** onError handles a STREAM or REPLY error for this serial, or the connection's failure. */
  onError(err: LibvirtError): void {
    const wasAborting = this.state === 'aborting';
    const cb = this.finishCallback;
    this.finishCallback = null;
    this.close();
    if (wasAborting) return;
    if (cb) cb(err);
    else this.destroy(err);
  }

  override _read(): void {
    if (this.holding) {
      this.holding = false;
      this.link.holdReading(this.serial, false);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.state !== 'open') {
      cb(new Error(`stream ${this.proc.name} is no longer open`));
      return;
    }
    let flushed = true;
    for (let off = 0; off < chunk.length; off += STREAM_CHUNK) {
      const piece = chunk.subarray(off, off + STREAM_CHUNK);
      flushed = this.link.sendStream(this.proc, this.serial, MessageStatus.CONTINUE, piece);
    }
    if (flushed) cb();
    else this.link.onceDrained(() => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.state !== 'open') {
      cb();
      return;
    }
    this.state = 'finishing';
    this.finishCallback = cb;
    this.link.sendStream(this.proc, this.serial, MessageStatus.OK);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.state === 'open' || this.state === 'finishing') {
      // The daemon answers an abort with an error reply on this serial; stay registered
      // until it arrives so that reply is not mistaken for a protocol violation.
      this.state = 'aborting';
      this.link.sendStream(this.proc, this.serial, MessageStatus.ERROR);
    }
    if (this.holding) {
      this.holding = false;
      this.link.holdReading(this.serial, false);
    }
    cb(err);
  }

  private finishFromPeer(): void {
    if (this.state === 'open') {
      this.state = 'finishing';
      this.link.sendStream(this.proc, this.serial, MessageStatus.OK);
    }
  }

  private close(): void {
    if (this.holding) {
      this.holding = false;
      this.link.holdReading(this.serial, false);
    }
    this.state = 'done';
    this.link.release(this.serial);
  }
}
