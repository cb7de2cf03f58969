/** MAX_LINE_BYTES is the longest line kept whole; longer ones arrive in pieces of this size. */
export const MAX_LINE_BYTES = 16 * 1024;

/**
 * LineSplitter turns a byte stream into lines (without their `\n` or `\r\n`), holding a
 * partial line until its end arrives. Bytes are decoded as UTF-8 per line, so a character
 * split between two reads stays whole.
 */
export class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    let buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: string[] = [];
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl === -1 || nl > MAX_LINE_BYTES) {
        if (buf.length < MAX_LINE_BYTES) break;
        lines.push(decode(buf.subarray(0, MAX_LINE_BYTES)));
        buf = buf.subarray(MAX_LINE_BYTES);
        continue;
      }
      lines.push(decode(buf.subarray(0, nl)));
      buf = buf.subarray(nl + 1);
    }
    this.rest = Buffer.from(buf);
    return lines;
  }

  /** end returns the last line when the stream did not end with a newline. */
  end(): string[] {
    const last = this.rest;
    this.rest = Buffer.alloc(0);
    return last.length > 0 ? [decode(last)] : [];
  }
}

function decode(line: Buffer): string {
  const text = line.toString('utf8');
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
