import type { Duplex } from 'node:stream';
import { LibvirtError } from '../errors.ts';
import {
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProcedure,
} from '../generated/keepalive-protocol.gen.ts';
import { decodeMessageError } from '../generated/virnet-protocol.gen.ts';
import { type Decoder, type Encoder, XdrReader } from '../xdr/index.ts';
import type { CallOptions, Procedure, RpcCaller, RpcStream, StreamDirection } from './caller.ts';
import {
  encodeHeader,
  type Frame,
  FrameDecoder,
  frame,
  type Header,
  MessageStatus,
  MessageType,
} from './frame.ts';
import { FrameWriter } from './frame-writer.ts';
import { DEFAULT_KEEPALIVE, Keepalive, type KeepaliveOptions } from './keepalive.ts';
import { callHeader, decodePayload, encodeCall, streamHeader } from './message.ts';
import { PendingCall } from './pending-call.ts';
import { RpcStreamImpl, type StreamLink } from './stream.ts';

/** RpcClientOptions tune one connection's RPC behaviour. */
export interface RpcClientOptions {
  /** label names the peer in error messages (a URI or host). */
  readonly label: string;
  /**
   * maxInFlight caps calls awaiting replies; more wait in a local queue. libvirtd reads at most
   * max_client_requests (5) frames per client before it stops reading the socket, and stream
   * chunks and keepalive replies share that budget, so we keep one slot free. @default 4
   */
  readonly maxInFlight?: number;
  /** callTimeoutMs fails a call with no reply in time; 0 disables. @default 60000 */
  readonly callTimeoutMs?: number;
}

/** MessageHandler receives asynchronous MESSAGE frames (events) of non-keepalive programs. */
export type MessageHandler = (header: Header, payload: Buffer) => void;

interface QueuedCall {
  readonly send: () => void;
  readonly fail: (e: LibvirtError) => void;
}

/**
 * RpcClient speaks libvirt's RPC over one byte stream: calls multiplexed by serial, replies in
 * any order, asynchronous events, streams and keepalive. It knows nothing of procedures beyond
 * what the generated code hands it.
 */
export class RpcClient implements RpcCaller, StreamLink {
  readonly label: string;
  /** closed resolves, never rejects, with the reason once the connection is gone. */
  readonly closed: Promise<LibvirtError>;

  private readonly socket: Duplex;
  private readonly decoder = new FrameDecoder();
  private readonly maxInFlight: number;
  private readonly callTimeoutMs: number;
  private readonly pending = new Map<number, PendingCall>();
  private readonly streams = new Map<number, RpcStreamImpl>();
  private readonly queue: QueuedCall[] = [];
  private readonly handlers = new Set<MessageHandler>();
  private readonly holds = new Set<number>();
  private readonly writer: FrameWriter;
  private serial = 0;
  private inFlight = 0;
  private keepalive: Keepalive | null = null;
  private failure: LibvirtError | null = null;
  private resolveClosed: (e: LibvirtError) => void = () => {};

  constructor(socket: Duplex, opts: RpcClientOptions) {
    this.socket = socket;
    this.writer = new FrameWriter(socket);
    this.label = opts.label;
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.callTimeoutMs = opts.callTimeoutMs ?? 60_000;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: Error) =>
      this.fail(
        new LibvirtError('closed', `connection to ${this.label} failed: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    socket.on('end', () =>
      this.fail(new LibvirtError('closed', `connection to ${this.label} closed by the peer`)),
    );
    socket.on('close', () =>
      this.fail(new LibvirtError('closed', `connection to ${this.label} closed`)),
    );
  }

  /** openStreams counts streams still registered on this connection. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** isOpen says whether calls can still be made. */
  get isOpen(): boolean {
    return this.failure === null;
  }

  call<A, R>(
    proc: Procedure,
    encode: Encoder<A> | null,
    args: A,
    decode: Decoder<R> | null,
    opts?: CallOptions,
  ): Promise<R> {
    return this.start(proc, encode, args, decode, null, opts) as Promise<R>;
  }

  async callStream<A, R>(
    proc: Procedure,
    encode: Encoder<A> | null,
    args: A,
    decode: Decoder<R> | null,
    direction: StreamDirection,
    opts?: CallOptions,
  ): Promise<{ ret: R; stream: RpcStream }> {
    // The stream must exist before the call is sent: its data frames may follow the reply at once.
    const made: { stream?: RpcStreamImpl } = {};
    const makeStream = (serial: number) => {
      made.stream = new RpcStreamImpl(this, proc, serial, direction);
      return made.stream;
    };
    const ret = (await this.start(proc, encode, args, decode, makeStream, opts)) as R;
    if (!made.stream)
      throw new LibvirtError('protocol', `${proc.name} replied without opening its stream`);
    return { ret, stream: made.stream };
  }

  /** onMessage subscribes to event frames; the returned function unsubscribes. */
  onMessage(handler: MessageHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** startKeepalive begins pinging a silent peer; call it once the daemon accepted keepalive. */
  startKeepalive(opts: KeepaliveOptions = DEFAULT_KEEPALIVE): void {
    this.keepalive?.stop();
    this.keepalive = new Keepalive(
      opts,
      () => this.sendKeepalive(KeepaliveProcedure.PING),
      (silentMs) =>
        this.fail(
          new LibvirtError(
            'keepalive',
            `${this.label} stopped answering: nothing heard for ${silentMs} ms (${opts.count} keepalive pings unanswered)`,
          ),
        ),
    );
    this.keepalive.start();
  }

  /** close ends the connection; calls still waiting fail with a `closed` error. */
  close(): Promise<LibvirtError> {
    this.fail(new LibvirtError('closed', `connection to ${this.label} was closed by Kumo`));
    return this.closed;
  }

  // StreamLink

  sendStream(proc: Procedure, serial: number, status: number, payload?: Uint8Array): boolean {
    if (this.failure) return true;
    return this.write(frame(streamHeader(proc, serial, status), payload));
  }

  onceDrained(cb: () => void): void {
    if (this.failure) cb();
    else this.writer.onceDrained(cb);
  }

  holdReading(serial: number, held: boolean): void {
    if (held) this.holds.add(serial);
    else this.holds.delete(serial);
    const hold = this.holds.size > 0;
    this.keepalive?.hold(hold);
    if (hold) this.socket.pause();
    else this.socket.resume();
  }

  release(serial: number): void {
    this.streams.delete(serial);
    this.holdReading(serial, false);
  }

  // Calls

  private start<A>(
    proc: Procedure,
    encode: Encoder<A> | null,
    args: A,
    decode: Decoder<unknown> | null,
    makeStream: ((serial: number) => RpcStreamImpl) | null,
    opts?: CallOptions,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      let payload: Buffer;
      try {
        payload = encodeCall(encode, args);
      } catch (err) {
        reject(
          new LibvirtError('protocol', `cannot encode arguments of ${proc.name}: ${String(err)}`, {
            cause: err,
          }),
        );
        return;
      }
      const entry = new PendingCall(proc, decode, resolve, reject);
      const queued: QueuedCall = {
        send: () => this.send(entry, payload, makeStream),
        fail: (e) => entry.settle(e),
      };
      const expire = (e: LibvirtError) => this.abandon(entry, queued, e);
      if (!entry.watch(opts?.timeoutMs ?? this.callTimeoutMs, this.label, opts?.signal, expire))
        return;
      if (this.inFlight < this.maxInFlight) queued.send();
      else this.queue.push(queued);
    });
  }

  private send(
    entry: PendingCall,
    payload: Buffer,
    makeStream: ((serial: number) => RpcStreamImpl) | null,
  ): void {
    if (entry.settled) return;
    this.serial = (this.serial + 1) >>> 0 || 1;
    const serial = this.serial;
    encodeHeader(payload, payload.length, callHeader(entry.proc, serial));
    entry.stream = makeStream?.(serial) ?? null;
    if (entry.stream) this.streams.set(serial, entry.stream);
    this.pending.set(serial, entry);
    this.inFlight++;
    this.write(payload);
  }

  private abandon(entry: PendingCall, queued: QueuedCall, err: LibvirtError): void {
    const i = this.queue.indexOf(queued);
    if (i >= 0) this.queue.splice(i, 1);
    // A sent call keeps its serial until the late reply comes, so its slot is freed then.
    entry.settle(err);
  }

  private write(buf: Buffer): boolean {
    return this.writer.write(buf);
  }

  private sendKeepalive(procedure: number): void {
    if (this.failure) return;
    this.write(
      frame({
        program: KEEPALIVE_PROGRAM,
        version: KEEPALIVE_PROTOCOL_VERSION,
        procedure,
        type: MessageType.MESSAGE,
        serial: 0,
        status: MessageStatus.OK,
      }),
    );
  }

  // Incoming

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.keepalive?.heard();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(
        err instanceof LibvirtError
          ? err
          : new LibvirtError('protocol', String(err), { cause: err }),
      );
      return;
    }
    for (const f of frames) {
      try {
        this.route(f);
      } catch (err) {
        this.fail(
          err instanceof LibvirtError
            ? err
            : new LibvirtError('protocol', `bad frame from ${this.label}: ${String(err)}`, {
                cause: err,
              }),
        );
        return;
      }
      if (this.failure) return;
    }
  }

  private route(f: Frame): void {
    const h = f.header;
    switch (h.type) {
      case MessageType.REPLY:
        this.onReply(f);
        return;
      case MessageType.STREAM:
        this.onStreamFrame(f);
        return;
      case MessageType.MESSAGE:
        if (h.program === KEEPALIVE_PROGRAM) {
          if (h.procedure === KeepaliveProcedure.PING) this.sendKeepalive(KeepaliveProcedure.PONG);
          return;
        }
        for (const handler of this.handlers) handler(h, f.payload);
        return;
      default:
        throw new LibvirtError('protocol', `unexpected message type ${h.type} from ${this.label}`);
    }
  }

  private onReply(f: Frame): void {
    const serial = f.header.serial;
    const call = this.pending.get(serial);
    if (!call) {
      const stream = this.streams.get(serial);
      if (!stream)
        throw new LibvirtError('protocol', `reply for unknown serial ${serial} from ${this.label}`);
      stream.onError(this.remoteError(f.payload, undefined));
      return;
    }
    this.pending.delete(serial);
    this.inFlight--;
    this.next();
    if (f.header.status === MessageStatus.OK) {
      if (call.settled) {
        call.stream?.destroy();
        return;
      }
      let value: unknown;
      try {
        value = decodePayload(f.payload, call.decode);
      } catch (err) {
        call.stream?.destroy();
        call.settle(
          new LibvirtError('protocol', `cannot decode reply of ${call.proc.name}: ${String(err)}`, {
            procedure: call.proc.name,
            cause: err,
          }),
        );
        return;
      }
      call.settle(null, value);
      return;
    }
    if (call.stream) this.streams.delete(serial);
    call.settle(this.remoteError(f.payload, call.proc.name));
  }

  private onStreamFrame(f: Frame): void {
    const stream = this.streams.get(f.header.serial);
    if (!stream) return; // data racing our abort: the daemon stops once it reads the abort
    switch (f.header.status) {
      case MessageStatus.CONTINUE:
        stream.onData(f.payload);
        return;
      case MessageStatus.OK:
        stream.onFinished();
        return;
      default:
        stream.onError(this.remoteError(f.payload, undefined));
    }
  }

  private next(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      (this.queue.shift() as QueuedCall).send();
    }
  }

  private remoteError(payload: Buffer, procedure: string | undefined): LibvirtError {
    try {
      const e = decodeMessageError(new XdrReader(payload));
      return new LibvirtError('remote', e.message ?? `libvirt error ${e.code}`, {
        code: e.code,
        domain: e.domain,
        ...(procedure ? { procedure } : {}),
      });
    } catch (err) {
      return new LibvirtError('protocol', `undecodable error from ${this.label}: ${String(err)}`, {
        cause: err,
      });
    }
  }

  private fail(err: LibvirtError): void {
    if (this.failure) return;
    this.failure = err;
    this.keepalive?.stop();
    this.writer.abandon();
    for (const q of this.queue.splice(0)) q.fail(err);
    for (const call of this.pending.values()) call.settle(err);
    this.pending.clear();
    for (const stream of this.streams.values()) stream.onError(err);
    this.streams.clear();
    if (err.kind === 'closed' && this.socket.writable) this.socket.end();
    this.socket.destroy();
    this.resolveClosed(err);
  }
}
