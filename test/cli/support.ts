// Running the `kumo` CLI as people and scripts do: as a process (one-shot commands), and in a
// terminal that a test types into and reads (tmux, on a socket of the test's own).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { until } from '../support/wait.ts';

const run = promisify(execFile);

// The CLI's compile cache, shared by this machine's test runs (the tests' HOME has none).
const CACHE = join(tmpdir(), `kumo-cli-test-cache-${process.getuid?.() ?? 0}`);

/** KUMO is the CLI's launcher. */
export const KUMO = join(import.meta.dirname, '../../clients/cli/bin/kumo');

/** Ran is how a one-shot command ended. */
export interface Ran {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** spawnKumo starts one command with `env` (its own config dir, server). */
export function spawnKumo(args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(KUMO, args, {
    env: { PATH: process.env.PATH, HOME: '/nonexistent', XDG_CACHE_HOME: CACHE, ...env },
  });
}

/** kumo runs one command to its end, with `env` and optional standard input. */
export function kumo(
  args: readonly string[],
  env: Record<string, string>,
  input?: string,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawnKumo(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin?.end(input ?? '');
  });
}

/** Screen is a terminal running a command in tmux: type into it, read what it shows. */
export class Screen {
  private readonly socket: string;

  private constructor(socket: string) {
    this.socket = socket;
  }

  /** open starts `command` in a detached 120x40 tmux session on its own socket in `dir`. */
  static async open(dir: string, command: string, env: Record<string, string>): Promise<Screen> {
    const socket = join(dir, 'tmux.sock');
    const exports = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
    const start = () =>
      run('tmux', [
        ...['-S', socket, '-f', '/dev/null', 'new-session', '-d', '-x', '120', '-y', '40'],
        `env -i PATH=${shellQuote(process.env.PATH ?? '')} TERM=xterm-256color HOME=/nonexistent XDG_CACHE_HOME=${CACHE} ${exports.join(' ')} ${command}; sleep 30`,
      ]);
    // Once in a full CI run, tmux's server died as it started ("server exited unexpectedly")
    // before the command ran: the terminal, not the CLI, so it is started again, once.
    await start().catch(async (err: unknown) => {
      if (!String(err).includes('server exited unexpectedly')) throw err;
      await start();
    });
    return new Screen(socket);
  }

  /** type sends text (literally) and then the named keys (`Enter`, `Tab`, `Up`). */
  async type(text: string, ...keys: string[]): Promise<void> {
    if (text) await run('tmux', ['-S', this.socket, 'send-keys', '-l', text]);
    if (keys.length > 0) await run('tmux', ['-S', this.socket, 'send-keys', ...keys]);
  }

  /** text is what the terminal shows now. */
  async text(): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.socket, 'capture-pane', '-p', '-J']);
    return stdout;
  }

  /** shows waits until the screen matches; when it does not, the error shows the screen. */
  async shows(what: RegExp, ms = 15_000): Promise<string> {
    try {
      return await until(
        async () => {
          const t = await this.text();
          return what.test(t) ? t : undefined;
        },
        ms,
        `the screen to show ${what}`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; it shows:\n${await this.text()}`);
    }
  }

  /** close ends this test's tmux server (and the command in it). */
  async close(): Promise<void> {
    await run('tmux', ['-S', this.socket, 'kill-server']).catch(() => undefined);
  }
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
