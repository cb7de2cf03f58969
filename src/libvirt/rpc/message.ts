import type { Decoder, Encoder } from '../xdr/index.ts';
import { XdrReader, XdrWriter } from '../xdr/index.ts';
import type { Procedure } from './caller.ts';
import { HEADER_SIZE, type Header, MessageStatus, MessageType } from './frame.ts';

/** encodeCall encodes a call's arguments after room for its header, which send fills in. */
export function encodeCall<A>(encode: Encoder<A> | null, args: A): Buffer {
  const w = new XdrWriter(128);
  for (let i = 0; i < HEADER_SIZE / 4; i++) w.uint(0);
  encode?.(w, args);
  return w.finish();
}

/** decodePayload decodes a reply payload; every byte must be consumed. */
export function decodePayload(payload: Buffer, decode: Decoder<unknown> | null): unknown {
  if (!decode) return undefined;
  const r = new XdrReader(payload);
  const v = decode(r);
  r.done();
  return v;
}

/** callHeader is the header of a CALL of `proc`. */
export function callHeader(proc: Procedure, serial: number): Header {
  return {
    program: proc.program,
    version: proc.version,
    procedure: proc.procedure,
    type: MessageType.CALL,
    serial,
    status: MessageStatus.OK,
  };
}

/** streamHeader is the header of a STREAM frame of the call `serial` of `proc`. */
export function streamHeader(proc: Procedure, serial: number, status: number): Header {
  return { ...callHeader(proc, serial), type: MessageType.STREAM, status };
}
