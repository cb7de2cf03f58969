import { Duplex, PassThrough } from 'node:stream';

/**
 * consoleStream stands for a VM's console stream: what the guest prints is written to `guest`,
 * what is typed into `stream` lands in `typed`.
 */
export function consoleStream() {
  const guest = new PassThrough();
  const typed: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      typed.push(chunk);
      done();
    },
  });
  guest.on('data', (d: Buffer) => stream.push(d));
  guest.on('end', () => stream.push(null));
  return { stream, guest, typed };
}
