import { LibvirtError } from '../errors.ts';
import type { Decoder } from '../xdr/index.ts';
import type { Procedure } from './caller.ts';
import type { RpcStreamImpl } from './stream.ts';

/**
 * PendingCall is one call from its creation to its answer. It settles exactly once: with the
 * reply, a remote error, the connection's failure, its timeout or its caller's abort. A call
 * settled early by a timeout or abort keeps its serial until the late reply arrives, so the
 * daemon's slot is accounted for.
 */
export class PendingCall {
  readonly proc: Procedure;
  readonly decode: Decoder<unknown> | null;
  stream: RpcStreamImpl | null = null;
  private done = false;
  private readonly resolve: (v: unknown) => void;
  private readonly reject: (e: LibvirtError) => void;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: () => void = () => {};

  constructor(
    proc: Procedure,
    decode: Decoder<unknown> | null,
    resolve: (v: unknown) => void,
    reject: (e: LibvirtError) => void,
  ) {
    this.proc = proc;
    this.decode = decode;
    this.resolve = resolve;
    this.reject = reject;
  }

  get settled(): boolean {
    return this.done;
  }

  /**
   * watch arms the call's timeout (0: none) and its caller's abort signal; `expire` runs with
   * the error when either fires. Returns false when the signal has already fired.
   */
  watch(
    timeoutMs: number,
    label: string,
    signal: AbortSignal | undefined,
    expire: (e: LibvirtError) => void,
  ): boolean {
    const name = this.proc.name;
    if (timeoutMs > 0) {
      this.timer = setTimeout(
        () =>
          expire(
            new LibvirtError(
              'timeout',
              `${name} got no reply from ${label} within ${timeoutMs} ms`,
              { procedure: name },
            ),
          ),
        timeoutMs,
      );
      this.timer.unref();
    }
    if (!signal) return true;
    const onAbort = () =>
      expire(
        new LibvirtError('aborted', `${name} was abandoned by the caller`, { procedure: name }),
      );
    if (signal.aborted) {
      onAbort();
      return false;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.unwatch = () => signal.removeEventListener('abort', onAbort);
    return true;
  }

  /** settle answers the caller once; later answers are ignored. */
  settle(err: LibvirtError | null, value?: unknown): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.unwatch();
    if (err) this.reject(err);
    else this.resolve(value);
  }
}
