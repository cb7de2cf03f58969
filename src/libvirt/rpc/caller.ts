import type { Duplex } from 'node:stream';
import type { Decoder, Encoder } from '../xdr/index.ts';

/** Procedure names one remote procedure: the program and version it belongs to and its number. */
export interface Procedure {
  readonly program: number;
  readonly version: number;
  readonly procedure: number;
  /** name is libvirt's, without the program prefix: `DOMAIN_GET_STATE`. */
  readonly name: string;
}

/** CallOptions tune one call. */
export interface CallOptions {
  /** timeoutMs fails the call when no reply came in time; 0 waits forever (migration Perform). */
  readonly timeoutMs?: number;
  /** signal abandons the call locally when aborted (the server still finishes it). */
  readonly signal?: AbortSignal;
}

/**
 * UNBOUNDED is for calls whose time grows with the data the host moves (copying a volume,
 * saving a guest's memory into a snapshot): they wait for their reply however long it takes,
 * and a host that dies meanwhile is noticed by the keepalive, which fails them.
 */
export const UNBOUNDED: CallOptions = { timeoutMs: 0 };

/** StreamDirection is libvirt's: `read` carries data from the daemon to us, `write` the other way. */
export type StreamDirection = 'read' | 'write';

/**
 * RpcStream is the data channel of a stream procedure. Writes become STREAM frames, end()
 * finishes the stream and resolves once the daemon confirms; the readable side yields the
 * daemon's data and ends at its end-of-stream marker. Destroying it aborts the stream.
 */
export type RpcStream = Duplex;

/** RpcCaller is what generated procedure code calls; the RPC client implements it. */
export interface RpcCaller {
  /** call sends one CALL and decodes its REPLY; `encode`/`decode` are null for void. */
  call<A, R>(
    proc: Procedure,
    encode: Encoder<A> | null,
    args: A,
    decode: Decoder<R> | null,
    opts?: CallOptions,
  ): Promise<R>;
  /** callStream is call for the procedures that open a data stream after their reply. */
  callStream<A, R>(
    proc: Procedure,
    encode: Encoder<A> | null,
    args: A,
    decode: Decoder<R> | null,
    direction: StreamDirection,
    opts?: CallOptions,
  ): Promise<{ ret: R; stream: RpcStream }>;
}
