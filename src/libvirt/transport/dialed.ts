import type { Duplex } from 'node:stream';

/** Dialed is an open byte stream to a daemon, with what the transport knows if it fails early. */
export interface Dialed {
  readonly stream: Duplex;
  /** diagnostics returns transport-side detail (an SSH helper's stderr), or ''. */
  readonly diagnostics: () => string;
  /**
   * reach opens a TCP stream to a port on the daemon's host the way the transport gets there:
   * straight to the host's address, or through the SSH session to the host's loopback. A
   * graphical console's VNC port is reached so.
   */
  readonly reach: (port: number, timeoutMs: number) => Promise<Duplex>;
}
