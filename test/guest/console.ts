import type { Duplex } from 'node:stream';

/**
 * GuestConsole reads a test guest's serial console (a stream from `conn.domains.openConsole`)
 * and types commands into its root shell. Everything the guest printed stays in `output`.
 */
export class GuestConsole {
  private text = '';
  private ended = false;
  private readonly listeners = new Set<() => void>();
  private commands = 0;
  private readonly stream: Duplex;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  }

  /** output is everything read so far, with carriage returns dropped. */
  get output(): string {
    return this.text.replaceAll('\r', '');
  }

  /** markers lists the `KUMO-GUEST ...` lines seen so far, without the prefix. */
  markers(): string[] {
    return [...this.output.matchAll(/KUMO-GUEST ([^\n]*)/g)].map((m) => (m[1] ?? '').trimEnd());
  }

  /**
   * waitFor resolves with the first match of `pattern` in the output at or after offset `from`,
   * or rejects after `ms` (or when the console ends) showing what was seen.
   */
  waitFor(pattern: string | RegExp, ms: number, from = 0): Promise<RegExpExecArray> {
    const re =
      typeof pattern === 'string'
        ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        : new RegExp(pattern.source, pattern.flags.replace('g', ''));
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.output.slice(from));
        if (m) {
          done();
          m.index += from;
          resolve(m);
        } else if (this.ended) {
          done();
          reject(new Error(`the console ended before ${re}; it showed:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${re} on the console within ${ms} ms; it showed:\n${this.output}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /**
   * run types `command` into the guest's shell and resolves with what it printed and its exit
   * status. The begin and end markers are typed split in two ("KUMO-""END"), so the terminal's
   * echo of the typed line never matches them; only the shell's output does.
   */
  async run(command: string, ms: number): Promise<{ output: string; status: number }> {
    const n = ++this.commands;
    const from = this.output.length;
    this.write(`echo "KUMO-""BEGIN-${n}"; ${command}; echo "KUMO-""END-${n} $?"\r`);
    const end = await this.waitFor(new RegExp(`KUMO-END-${n} (\\d+)\\n`), ms, from);
    const begin = await this.waitFor(`KUMO-BEGIN-${n}\n`, 0, from);
    return {
      output: this.output.slice(begin.index + begin[0].length, end.index),
      status: Number(end[1]),
    };
  }

  /** write types raw characters (a line ends with "\r", as on a terminal). */
  write(chars: string): void {
    this.stream.write(chars);
  }

  close(): void {
    this.stream.destroy();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}
