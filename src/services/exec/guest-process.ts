import type { AgentApi, ExecStatus } from '../../libvirt/api/agent.ts';
import type { DomainRef } from '../../libvirt/api/domains.ts';
import { ServiceError } from '../errors.ts';
import type { GuestLink } from './guest-link.ts';

/** CommandSpec is a command to run in a guest. */
export interface CommandSpec {
  /** command is a program: a path, or a name looked up on the guest's PATH. */
  readonly command: string;
  readonly args: readonly string[];
  /** env adds `NAME=value` variables to the agent's environment. */
  readonly env: readonly string[];
  readonly input: Buffer | null;
}

/** Exit is how a guest process ended: its exit code, or the signal that ended it. */
export interface Exit {
  readonly exitCode: number | null;
  readonly signal: number | null;
}

/** Polled is what one look at a running process found: new output, and its end if it ended. */
export interface Polled {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exit: Exit | null;
}

/**
 * The agent only hands over a program's output once it has exited, so the program writes it to
 * two files the controller reads as they grow. The wrapper exports the variables, creates the
 * files (private to root, refusing ones that already exist) and execs the command, so the pid
 * the agent reports is the command's own and its exit code is the command's. `$0` is the files'
 * prefix; the variables come before `--`, the command after.
 */
const WRAPPER = [
  'p=$0',
  'while [ "$1" != -- ]; do export "$1" || exit 125; shift; done',
  'shift',
  '(umask 077; set -C; : >"$p.out" && : >"$p.err") || exit 125',
  'exec "$@" >>"$p.out" 2>>"$p.err"',
].join('\n');

// Stops the process and its descendants first (so none forks away), then kills them all.
const KILL_TREE = [
  'stop() { kill -STOP "$1" 2>/dev/null; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do stop "$c"; done; }',
  'kill9() { for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do kill9 "$c"; done; kill -KILL "$1" 2>/dev/null; }',
  'stop "$1"; kill9 "$1"',
].join('\n');

const SHELL = '/bin/sh';

// The output files appear a moment after the agent starts the wrapper: looked for again after
// 10 ms, doubling to 200 ms, for 5 s in all.
const OPEN_WAIT_MS = 5000;

/** RUN_GRACE_MS is how long a running process's agent may be out of reach before it is given up. */
export const RUN_GRACE_MS = 60_000;

/** runToEnd runs a short helper command and returns its exit code (what it printed, on failure). */
export async function runToEnd(
  agent: AgentApi,
  dom: DomainRef,
  args: readonly string[],
): Promise<number> {
  const pid = await agent.exec(dom, { path: SHELL, args, captureOutput: true });
  for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
    const s = await agent.execStatus(dom, pid);
    if (s.exited) {
      if (s.exitCode !== 0)
        throw new ServiceError(
          'REFUSED',
          `the guest said: ${s.stderr.toString('utf8').trim() || `exit status ${s.exitCode ?? `signal ${s.signal}`}`}`,
        );
      return s.exitCode;
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * GuestProcess is a command running in a guest through its agent, with its output read from
 * the files the wrapper writes. Output of one stream comes in order; between the two streams,
 * order is as each look found it.
 */
export class GuestProcess {
  readonly pid: number;
  private readonly link: GuestLink;
  private readonly prefix: string;
  private readonly files: { out: StreamFile; err: StreamFile };
  private exited: Exit | null = null;
  // What the wrapper itself printed (it could not make its files, say), reported once.
  private said: { stdout: Buffer; stderr: Buffer } | null = null;

  private constructor(link: GuestLink, prefix: string, pid: number, out: number, err: number) {
    this.link = link;
    this.prefix = prefix;
    this.pid = pid;
    this.files = { out: new StreamFile(out), err: new StreamFile(err) };
  }

  /** start runs the command; `prefix` names its output files (`<prefix>.out`, `<prefix>.err`). */
  static async start(link: GuestLink, prefix: string, spec: CommandSpec): Promise<GuestProcess> {
    const pid = await link.call((agent, dom) =>
      agent.exec(dom, {
        path: SHELL,
        args: ['-c', WRAPPER, prefix, ...spec.env, '--', spec.command, ...spec.args],
        captureOutput: true,
        ...(spec.input ? { input: spec.input } : {}),
      }),
    );
    // The agent tells of an exit once only: one seen while waiting for the files is kept.
    const seen: { exit: Extract<ExecStatus, { exited: true }> | null } = { exit: null };
    const open = async (file: string): Promise<number> => {
      const deadline = Date.now() + OPEN_WAIT_MS;
      for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
        try {
          return await link.call((agent, dom) => agent.fileOpen(dom, file, 'r'));
        } catch (err) {
          const ended = seen.exit;
          if (ended)
            throw new ServiceError(
              'REFUSED',
              `the command could not start: ${ended.stderr.toString('utf8').trim() || `exit status ${ended.exitCode}`}`,
            );
          const status = await link.call((agent, dom) => agent.execStatus(dom, pid));
          if (status.exited) seen.exit = status;
          else if (Date.now() >= deadline) throw err;
          else await new Promise((r) => setTimeout(r, pause));
        }
      }
    };
    const out = await open(`${prefix}.out`);
    const err = await open(`${prefix}.err`);
    const proc = new GuestProcess(link, prefix, pid, out, err);
    if (seen.exit) proc.ended(seen.exit);
    return proc;
  }

  /** reattach takes up a process started earlier (by a controller process since stopped). */
  static async reattach(link: GuestLink, prefix: string, pid: number): Promise<GuestProcess> {
    const open = (file: string) =>
      link.call((agent, dom) => agent.fileOpen(dom, file, 'r'), RUN_GRACE_MS);
    return new GuestProcess(
      link,
      prefix,
      pid,
      await open(`${prefix}.out`),
      await open(`${prefix}.err`),
    );
  }

  /**
   * poll reads what the process wrote since the last poll and whether it has ended; once it
   * has, the rest of its output is read before the end is reported.
   */
  async poll(): Promise<Polled> {
    if (this.exited === null) {
      const s = await this.link.call((agent, dom) => agent.execStatus(dom, this.pid), RUN_GRACE_MS);
      if (s.exited) this.ended(s);
    }
    // Read after the status: output written before the exit is in the files by now.
    const drain = this.exited !== null;
    const stdout = await this.read(this.files.out, drain);
    const stderr = await this.read(this.files.err, drain);
    const said = this.said;
    this.said = null;
    return {
      stdout: said ? Buffer.concat([stdout, said.stdout]) : stdout,
      stderr: said ? Buffer.concat([stderr, said.stderr]) : stderr,
      exit: this.exited,
    };
  }

  /** kill ends the process and everything it started. */
  async kill(): Promise<void> {
    await this.link.call(
      (agent, dom) => runToEnd(agent, dom, ['-c', KILL_TREE, 'kill', String(this.pid)]),
      RUN_GRACE_MS,
    );
  }

  /** release closes the output files and leaves them in the guest, for a later reattach. */
  async release(): Promise<void> {
    await this.link.call(async (agent, dom) => {
      for (const f of [this.files.out, this.files.err])
        await agent.fileClose(dom, f.handle).catch(() => undefined);
    });
  }

  /** close closes the output files and removes them from the guest. */
  async close(): Promise<void> {
    await this.release();
    await this.link.call((agent, dom) =>
      runToEnd(agent, dom, ['-c', 'rm -f -- "$0.out" "$0.err"', this.prefix]),
    );
  }

  private ended(s: Extract<ExecStatus, { exited: true }>): void {
    this.exited = { exitCode: s.exitCode, signal: s.signal };
    this.said = { stdout: s.stdout, stderr: s.stderr };
  }

  // Reads one stream's new bytes: everything up to its current end.
  private async read(file: StreamFile, drain: boolean): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      let tries = 0;
      const chunk = await this.link.call(async (agent, dom) => {
        // A read that reached the end leaves the end-of-file mark set; seeking clears it. A
        // retried read seeks too: the one whose reply was lost may have moved the position.
        if (file.atEof || tries++ > 0) await agent.fileSeek(dom, file.handle, file.offset);
        return agent.fileRead(dom, file.handle);
      }, RUN_GRACE_MS);
      file.offset += chunk.data.length;
      file.atEof = chunk.eof;
      if (chunk.data.length > 0) parts.push(chunk.data);
      if (chunk.eof || (!drain && chunk.data.length === 0)) break;
    }
    return Buffer.concat(parts);
  }
}

class StreamFile {
  readonly handle: number;
  offset = 0;
  atEof = false;

  constructor(handle: number) {
    this.handle = handle;
  }
}
