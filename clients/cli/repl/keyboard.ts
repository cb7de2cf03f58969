import { PassThrough, type Readable } from 'node:stream';

type TtyInput = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

const CTRL_C = 0x03;

/**
 * Keyboard shares the terminal's input between readline, which reads command lines at the
 * prompt, and the command running: keys typed during a command wait for the next prompt
 * (typeahead), except Ctrl-C, which interrupts the command; a console takes every key raw.
 * readline reads `forReadline`, never the terminal itself, so it cannot take keys meant for a
 * command.
 */
export class Keyboard {
  readonly forReadline: PassThrough & { isTTY?: boolean; setRawMode?: (raw: boolean) => void };
  private readonly input: TtyInput;
  private readonly interrupts = new Set<() => void>();
  private raw: ((chunk: Buffer) => void) | null = null;
  private readonly onData = (chunk: Buffer) => this.route(chunk);

  constructor(input: TtyInput) {
    this.input = input;
    const forReadline = new PassThrough() as Keyboard['forReadline'];
    if (input.isTTY) {
      forReadline.isTTY = true;
      forReadline.setRawMode = (raw) => void input.setRawMode?.(raw);
    }
    this.forReadline = forReadline;
    input.on('data', this.onData);
    input.once('end', () => forReadline.end());
  }

  /** onInterrupt calls `handler` at Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void {
    this.interrupts.add(handler);
    return () => void this.interrupts.delete(handler);
  }

  /** rawInput gives every key to `onData` until the returned function is called. */
  rawInput(onData: (chunk: Buffer) => void): () => void {
    this.raw = onData;
    this.input.setRawMode?.(true);
    return () => {
      if (this.raw === onData) this.raw = null;
    };
  }

  /** close stops reading the terminal, so the process can end. */
  close(): void {
    this.input.off('data', this.onData);
    this.input.pause();
    this.forReadline.end();
  }

  private route(chunk: Buffer): void {
    if (this.raw) this.raw(chunk);
    else if (this.interrupts.size > 0 && chunk.includes(CTRL_C))
      for (const handler of [...this.interrupts]) handler();
    else this.forReadline.write(chunk);
  }
}
