import { LibvirtError } from '../errors.ts';
import type { QemuProgram } from '../generated/qemu-protocol.gen.ts';
import type { DomainRef } from './domains.ts';

/** ExecRequest is what guest-exec starts: a program (no shell), its arguments and environment. */
export interface ExecRequest {
  readonly path: string;
  readonly args?: readonly string[];
  /** env replaces the agent's environment: `NAME=value` items. */
  readonly env?: readonly string[];
  /** input is written to the program's stdin, which is then closed. */
  readonly input?: Buffer;
  /** captureOutput keeps stdout and stderr for execStatus (delivered once the program exits). */
  readonly captureOutput?: boolean;
}

/** ExecStatus is guest-exec-status: still running, or how the program ended. */
export type ExecStatus =
  | { readonly exited: false }
  | {
      readonly exited: true;
      /** exitCode is set when the program exited, signal when a signal ended it. */
      readonly exitCode: number | null;
      readonly signal: number | null;
      readonly stdout: Buffer;
      readonly stderr: Buffer;
    };

/** FileChunk is what guest-file-read returned. */
export interface FileChunk {
  readonly data: Buffer;
  readonly eof: boolean;
}

/**
 * AGENT_CHUNK_BYTES is the most one file read or write moves. Measured on the test guest
 * (QEMU 7.2's agent, TCG): a 64 KiB write takes 25 ms, 128 KiB 68 ms, and a 256 KiB one never
 * gets its reply (libvirt then calls the agent unresponsive until it resyncs).
 */
export const AGENT_CHUNK_BYTES = 64 * 1024;

// Seconds libvirt waits for the agent's reply; a hung agent fails the call rather than the
// connection.
const TIMEOUT_S = 10;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * AgentApi speaks to the QEMU guest agent inside a running domain, through libvirt's QEMU
 * program (virDomainQemuAgentCommand): JSON commands in, JSON replies out. Errors the agent
 * or libvirt report (agent not configured, not connected, the command failed in the guest)
 * arrive as LibvirtErrors with the daemon's message.
 */
export class AgentApi {
  private readonly qemu: QemuProgram;

  constructor(qemu: QemuProgram) {
    this.qemu = qemu;
  }

  /** command runs one agent command and returns its `return` value. */
  async command(dom: DomainRef, execute: string, args?: Record<string, Json>): Promise<unknown> {
    const { result } = await this.qemu.domainAgentCommand(
      {
        dom: dom.handle,
        cmd: JSON.stringify(args ? { execute, arguments: args } : { execute }),
        timeout: TIMEOUT_S,
        flags: 0,
      },
      { timeoutMs: (TIMEOUT_S + 5) * 1000 },
    );
    if (result === null) return null;
    let reply: unknown;
    try {
      reply = JSON.parse(result);
    } catch {
      throw new LibvirtError('protocol', `the guest agent's reply to ${execute} is not JSON`);
    }
    return (reply as { return?: unknown }).return ?? null;
  }

  /** exec starts a program in the guest and returns its pid there. */
  async exec(dom: DomainRef, req: ExecRequest): Promise<number> {
    const ret = (await this.command(dom, 'guest-exec', {
      path: req.path,
      arg: [...(req.args ?? [])],
      ...(req.env ? { env: [...req.env] } : {}),
      ...(req.input ? { 'input-data': req.input.toString('base64') } : {}),
      'capture-output': req.captureOutput ?? false,
    })) as { pid: number };
    return ret.pid;
  }

  /** execStatus says whether a program exec started has ended; an ended one is then forgotten. */
  async execStatus(dom: DomainRef, pid: number): Promise<ExecStatus> {
    const s = (await this.command(dom, 'guest-exec-status', { pid })) as {
      exited: boolean;
      exitcode?: number;
      signal?: number;
      'out-data'?: string;
      'err-data'?: string;
    };
    if (!s.exited) return { exited: false };
    return {
      exited: true,
      exitCode: s.exitcode ?? null,
      signal: s.signal ?? null,
      stdout: Buffer.from(s['out-data'] ?? '', 'base64'),
      stderr: Buffer.from(s['err-data'] ?? '', 'base64'),
    };
  }

  /** fileOpen opens a file in the guest (`r`, `w`, `a`... as fopen) and returns its handle. */
  async fileOpen(dom: DomainRef, path: string, mode: string): Promise<number> {
    return (await this.command(dom, 'guest-file-open', { path, mode })) as number;
  }

  /** fileRead reads up to `count` bytes (at most AGENT_CHUNK_BYTES) from the handle's position. */
  async fileRead(dom: DomainRef, handle: number, count = AGENT_CHUNK_BYTES): Promise<FileChunk> {
    const r = (await this.command(dom, 'guest-file-read', {
      handle,
      count: Math.min(count, AGENT_CHUNK_BYTES),
    })) as { count: number; 'buf-b64'?: string; eof: boolean };
    return { data: Buffer.from(r['buf-b64'] ?? '', 'base64'), eof: r.eof };
  }

  /** fileWrite writes all of `data`, in chunks of at most AGENT_CHUNK_BYTES. */
  async fileWrite(dom: DomainRef, handle: number, data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; ) {
      const chunk = data.subarray(at, at + AGENT_CHUNK_BYTES);
      const r = (await this.command(dom, 'guest-file-write', {
        handle,
        'buf-b64': chunk.toString('base64'),
      })) as { count: number };
      if (r.count <= 0) throw new LibvirtError('remote', 'the guest agent wrote nothing');
      at += r.count;
    }
  }

  /**
   * fileSeek moves the handle to `offset` from the start and returns the position. It also
   * clears the end-of-file mark, so a file still being written can be read on from there.
   */
  async fileSeek(dom: DomainRef, handle: number, offset: number): Promise<number> {
    const r = (await this.command(dom, 'guest-file-seek', { handle, offset, whence: 'set' })) as {
      position: number;
    };
    return r.position;
  }

  async fileClose(dom: DomainRef, handle: number): Promise<void> {
    await this.command(dom, 'guest-file-close', { handle });
  }
}
