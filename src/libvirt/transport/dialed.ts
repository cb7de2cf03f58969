import type { Duplex } from 'node:stream';

/** Dialed is an open byte stream to a daemon, with what the transport knows if it fails early. */
export interface Dialed {
  readonly stream: Duplex;
  /** diagnostics returns transport-side detail (an SSH helper's stderr), or ''. */
  readonly diagnostics: () => string;
}
