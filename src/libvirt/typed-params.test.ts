import { describe, expect, it } from 'vitest';
import { encodeTypedParam } from './generated/remote-protocol.gen.ts';
import { TypedParams, typedParamsToRecord } from './typed-params.ts';
import { XdrWriter } from './xdr/index.ts';

describe('TypedParams', () => {
  it('encodes bandwidth as ULLONG exactly as libvirt expects', () => {
    const w = new XdrWriter();
    encodeTypedParam(w, TypedParams.ullong('bandwidth', 100n));
    expect(w.finish().toString('hex')).toBe(
      '0000000962616e647769647468000000000000040000000000000064',
    );
  });

  it('round-trips every type into a record', () => {
    const rec = typedParamsToRecord([
      TypedParams.int('a', -1),
      TypedParams.uint('b', 2),
      TypedParams.llong('c', -3n),
      TypedParams.ullong('d', 2n ** 63n),
      TypedParams.double('e', 0.5),
      TypedParams.boolean('f', true),
      TypedParams.string('g', 'x'),
    ]);
    expect(rec).toEqual({ a: -1, b: 2, c: -3n, d: 2n ** 63n, e: 0.5, f: true, g: 'x' });
  });
});
