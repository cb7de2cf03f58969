import { describe, expect, it } from 'vitest';
import { LibvirtError } from '../errors.ts';
import {
  FrameDecoder,
  frame,
  HEADER_SIZE,
  MAX_FRAME,
  MessageStatus,
  MessageType,
} from './frame.ts';

describe('FrameDecoder', () => {
  it('decodes a captured reply', () => {
    const [f] = new FrameDecoder().push(
      Buffer.from(
        '000000242000808600000001' +
          '0000009d' +
          '00000001' +
          '00000001' +
          '00000000' +
          '0000000000895440',
        'hex',
      ),
    );
    expect(f?.header).toEqual({
      program: 0x20008086,
      version: 1,
      procedure: 157,
      type: MessageType.REPLY,
      serial: 1,
      status: MessageStatus.OK,
    });
    expect(f?.payload.readBigUInt64BE(0)).toBe(9000000n);
  });

  it('reassembles frames from every possible split, including several per chunk', () => {
    const a = frame(
      { program: 1, version: 1, procedure: 2, type: 1, serial: 7, status: 0 },
      Buffer.from('abcdefgh'),
    );
    const b = frame({ program: 1, version: 1, procedure: 3, type: 2, serial: 0, status: 0 });
    const bytes = Buffer.concat([a, b, a]);
    for (let i = 0; i <= bytes.length; i++) {
      for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 13)]) {
        const d = new FrameDecoder();
        const got = [
          ...d.push(bytes.subarray(0, i)),
          ...d.push(bytes.subarray(i, j)),
          ...d.push(bytes.subarray(j)),
        ];
        expect(got.map((f) => f.header.procedure)).toEqual([2, 3, 2]);
        expect(got[0]?.payload.toString()).toBe('abcdefgh');
      }
    }
  });

  it('treats a length word outside libvirt limits as fatal', () => {
    const small = Buffer.alloc(4);
    small.writeUInt32BE(HEADER_SIZE - 1);
    expect(() => new FrameDecoder().push(small)).toThrow(LibvirtError);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(MAX_FRAME + 1);
    expect(() => new FrameDecoder().push(big)).toThrow(/invalid frame length/);
  });

  it('encodes the call in PROTOCOL-NOTES §1 byte for byte', () => {
    const f = frame({
      program: 0x20008086,
      version: 1,
      procedure: 157,
      type: 0,
      serial: 1,
      status: 0,
    });
    expect(f.toString('hex')).toBe('0000001c20008086000000010000009d000000000000000100000000');
  });
});
