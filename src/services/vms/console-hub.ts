import type { Duplex } from 'node:stream';
import { PassThrough, type Readable } from 'node:stream';
import type { VmId } from '../../entities/ids.ts';

/**
 * ConsoleEnd says why a tap on a console ended: the console closed (the guest stopped, or a
 * client outside Kumo took the console over), the reader fell too far behind, the tap was
 * closed by its holder, or its holder lost the right to it.
 */
export type ConsoleEnd = 'ENDED' | 'TOO_SLOW' | 'CLOSED' | 'REVOKED';

/** ConsoleTap is one reader (and writer) of a VM's serial console. */
export interface ConsoleTap {
  /** output is what the guest writes from now on; it ends when the tap ends. */
  readonly output: Readable;
  /** write types into the console. */
  write(data: Buffer): void;
  /** end lets go of the console (CLOSED unless said otherwise); safe to call twice. */
  end(why?: ConsoleEnd): void;
  /** ended resolves with why the tap ended. */
  readonly ended: Promise<ConsoleEnd>;
}

// A reader this far behind is dropped rather than holding the guest's output for everyone.
const MAX_BEHIND_BYTES = 1024 * 1024;

interface Attachment {
  readonly stream: Duplex;
  readonly taps: Set<Tap>;
  closed: boolean;
}

class Tap implements ConsoleTap {
  readonly output = new PassThrough();
  readonly ended: Promise<ConsoleEnd>;
  private finish: (why: ConsoleEnd) => void = () => undefined;
  private readonly at: Attachment;
  private readonly detach: (tap: Tap) => void;

  constructor(at: Attachment, detach: (tap: Tap) => void) {
    this.at = at;
    this.detach = detach;
    this.ended = new Promise((resolve) => {
      this.finish = resolve;
    });
    // A reader that stops reading (destroys its stream) lets go of the console too.
    this.output.once('close', () => this.end('CLOSED'));
  }

  push(chunk: Buffer): void {
    if (this.output.writableLength > MAX_BEHIND_BYTES) this.end('TOO_SLOW');
    else this.output.write(chunk);
  }

  write(data: Buffer): void {
    if (!this.at.closed) this.at.stream.write(data);
  }

  end(why: ConsoleEnd = 'CLOSED'): void {
    if (!this.at.taps.delete(this)) return;
    this.output.end();
    this.finish(why);
    this.detach(this);
  }
}

/**
 * ConsoleHub shares one libvirt console stream per VM among everyone reading it (line
 * subscriptions, interactive sessions): libvirt gives a console to one client at a time, and
 * a log viewer should not throw out the person typing. The stream opens with the first tap and
 * closes with the last.
 */
export class ConsoleHub {
  private readonly attached = new Map<VmId, Promise<Attachment>>();

  /** tap attaches to the VM's console, opening it with `open` unless it is open already. */
  async tap(vmId: VmId, open: () => Promise<Duplex>): Promise<ConsoleTap> {
    for (;;) {
      let pending = this.attached.get(vmId);
      if (!pending) {
        pending = this.attach(vmId, open);
        this.attached.set(vmId, pending);
        pending.catch(() => this.attached.delete(vmId));
      }
      const at = await pending;
      // Its last tap may have closed it while this one waited: open it again.
      if (at.closed) {
        if (this.attached.get(vmId) === pending) this.attached.delete(vmId);
        continue;
      }
      const tap = new Tap(at, () => {
        if (at.taps.size === 0) this.close(vmId, at);
      });
      at.taps.add(tap);
      return tap;
    }
  }

  private async attach(vmId: VmId, open: () => Promise<Duplex>): Promise<Attachment> {
    const stream = await open();
    const at: Attachment = { stream, taps: new Set(), closed: false };
    stream.on('data', (chunk: Buffer) => {
      for (const tap of at.taps) tap.push(chunk);
    });
    const gone = () => {
      for (const tap of [...at.taps]) tap.end('ENDED');
      this.close(vmId, at);
    };
    stream.once('end', gone);
    stream.once('close', gone);
    stream.once('error', gone);
    return at;
  }

  private close(vmId: VmId, at: Attachment): void {
    if (at.closed) return;
    at.closed = true;
    at.stream.destroy();
    const pending = this.attached.get(vmId);
    void pending?.then((now) => {
      if (now === at && this.attached.get(vmId) === pending) this.attached.delete(vmId);
    });
  }
}
