// The controller as deployed, `node src/main.ts` in a child process on a config file, for the
// tests and benches that kill it, run several, or measure it apart from themselves.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { within } from './wait.ts';

const MAIN = resolve(import.meta.dirname, '../../src/main.ts');

/** ControllerProcess is a controller running in a child process. */
export interface ControllerProcess {
  readonly url: string;
  readonly pid: number;
  /** exited resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** output is the last of what it printed (stdout and stderr, up to 256 KiB). */
  output(): string;
  /** kill sends SIGKILL: the controller dies without a word. */
  kill(): Promise<void>;
  /** stop ends it with SIGTERM (SIGKILL after 30 s). */
  stop(): Promise<void>;
}

/**
 * startControllerProcess starts a controller on `configFile` with the node `flags` given and
 * resolves once it listens (within 60 s); a controller that exits first rejects, with what it
 * printed.
 */
export async function startControllerProcess(
  configFile: string,
  flags: readonly string[] = [],
): Promise<ControllerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...flags, MAIN], {
    env: { ...process.env, KUMO_CONFIG: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // What it printed last is what explains its end; a long run's whole log is not kept.
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-256 * 1024);
  };
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const listening = new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      keep(d);
      const m = /GraphQL and GraphiQL at (\S+),/.exec(out);
      if (m) resolveUrl(m[1] as string);
    });
    child.stderr?.on('data', keep);
    void exited.then((code) => reject(new Error(`the controller exited (${code}):\n${out}`)));
  });
  const end = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([exited, sleep(graceMs)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const url = await within(listening, 60_000, 'the controller to listen');
    return {
      url,
      pid: child.pid as number,
      exited,
      output: () => out,
      kill: () => end('SIGKILL', 10_000),
      stop: () => end('SIGTERM', 30_000),
    };
  } catch (err) {
    await end('SIGKILL', 10_000);
    throw err;
  }
}
