import type { XdrReader } from './reader.ts';
import type { XdrWriter } from './writer.ts';

export { XdrReader } from './reader.ts';
export { XdrWriter } from './writer.ts';
export { XdrError } from './xdr-error.ts';

/** Encoder writes one value of T. */
export type Encoder<T> = (w: XdrWriter, v: T) => void;
/** Decoder reads one value of T. */
export type Decoder<T> = (r: XdrReader) => T;
