// bench/profile-window: a CPU profile of a running node process (a held controller:
// BENCH_HOLD=1) over a window, not its whole life as BENCH_PROFILE_DIR gives.
//   node bench/profile-window.ts <pid> <out.cpuprofile> <seconds>
//   node bench/profile-window.ts <pid> <out.cpuprofile> -- <command...>   (while it runs)
// SIGUSR1 opens the process's inspector on 127.0.0.1:9229; it is closed again afterwards.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

const [pid, out, third, ...command] = process.argv.slice(2);
if (!pid || !out || !third)
  throw new Error('usage: profile-window.ts <pid> <out> (<seconds> | -- <command...>)');

process.kill(Number(pid), 'SIGUSR1');
await sleep(1000);
const targets = (await (await fetch('http://127.0.0.1:9229/json/list')).json()) as Array<{
  webSocketDebuggerUrl: string;
}>;
const ws = new WebSocket(targets[0]?.webSocketDebuggerUrl ?? '');
await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));

let serial = 0;
const answers = new Map<number, (result: unknown) => void>();
ws.on('message', (data: Buffer) => {
  const m = JSON.parse(data.toString()) as { id?: number; result?: unknown };
  if (m.id !== undefined) answers.get(m.id)?.(m.result);
});
function call(method: string, params: object = {}): Promise<unknown> {
  const id = ++serial;
  ws.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve) => answers.set(id, resolve));
}

await call('Profiler.enable');
await call('Profiler.setSamplingInterval', { interval: 200 });
await call('Profiler.start');
if (third === '--') {
  const [cmd, ...args] = command;
  if (!cmd) throw new Error('no command after --');
  await new Promise((resolve) => spawn(cmd, args, { stdio: 'inherit' }).on('exit', resolve));
} else await sleep(Number(third) * 1000);
const { profile } = (await call('Profiler.stop')) as { profile: unknown };
writeFileSync(out, JSON.stringify(profile));
// Closing the inspector ends the session too: its answer never comes.
ws.send(
  JSON.stringify({
    id: ++serial,
    method: 'Runtime.evaluate',
    params: { expression: 'process._debugEnd()' },
  }),
);
await sleep(300);
ws.close();
console.log(`profile written to ${out}`);
