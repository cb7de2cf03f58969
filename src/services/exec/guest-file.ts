import { posix } from 'node:path';
import { AGENT_CHUNK_BYTES } from '../../libvirt/api/agent.ts';
import { ServiceError } from '../errors.ts';
import type { GuestLink } from './guest-link.ts';
import { runToEnd } from './guest-process.ts';

/** FileSpec is a file to deliver: where, what, and its permission bits. */
export interface FileSpec {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
}

// Makes the directory, then moves the finished file into place with its mode: the path only
// ever holds the whole file. `$0` is the temporary file, `$1` the path, `$2` the mode.
const PLACE = 'chmod "$2" "$0" && mv -f -- "$0" "$1"';
const PREPARE = 'mkdir -p -- "$0"';

/**
 * deliverFile writes a file into the guest through its agent: into a temporary file next to
 * the path, in chunks, then renamed over the path. A delivery that fails or is cancelled
 * removes the temporary file. `progress` is told the bytes written so far.
 */
export async function deliverFile(
  link: GuestLink,
  file: FileSpec,
  tag: string,
  progress: (written: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const dir = posix.dirname(file.path);
  const temp = posix.join(dir, `.${posix.basename(file.path)}.${tag}`);
  await link.call((agent, dom) => runToEnd(agent, dom, ['-c', PREPARE, dir]));
  const handle = await link.call((agent, dom) => agent.fileOpen(dom, temp, 'w'));
  let placed = false;
  try {
    for (let at = 0; at < file.data.length; at += AGENT_CHUNK_BYTES) {
      if (signal.aborted) throw new ServiceError('REFUSED', 'the delivery was cancelled');
      const chunk = file.data.subarray(at, at + AGENT_CHUNK_BYTES);
      await link.call((agent, dom) => agent.fileWrite(dom, handle, chunk));
      progress(at + chunk.length);
    }
    await link.call((agent, dom) => agent.fileClose(dom, handle));
    await link.call((agent, dom) =>
      runToEnd(agent, dom, ['-c', PLACE, temp, file.path, file.mode.toString(8)]),
    );
    placed = true;
  } finally {
    if (!placed)
      await link
        .call(async (agent, dom) => {
          await agent.fileClose(dom, handle).catch(() => undefined);
          await runToEnd(agent, dom, ['-c', 'rm -f -- "$0"', temp]);
        })
        .catch(() => undefined);
  }
}
