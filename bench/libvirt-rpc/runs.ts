import { execFileSync } from 'node:child_process';
import type { DomainRef } from '../../src/libvirt/api/domains.ts';
import { LibvirtConnection } from '../../src/libvirt/connection.ts';
import { PYTHON } from './python.ts';

/** Result is one measured run. */
export interface Result {
  readonly label: string;
  readonly callsPerSecond: number;
  readonly meanUs: number;
  readonly p50Us?: number;
  readonly p99Us?: number;
}

interface CLine {
  mode: string;
  calls: number;
  seconds: number;
  p50_us?: number;
  p99_us?: number;
}

/** runC runs libvirt's C client: one sequential run, then one per thread count. */
export function runC(
  script: string,
  uri: string,
  domain: string,
  calls: number,
  threads: readonly number[],
): Result[] {
  const out = execFileSync(PYTHON, [
    script,
    uri,
    domain,
    String(calls),
    threads.join(','),
  ]).toString();
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as CLine)
    .map((r) => ({
      label:
        r.mode === 'sequential' ? 'C sequential' : `C ${r.mode.replace('threads-', '')} threads`,
      callsPerSecond: r.calls / r.seconds,
      meanUs: (r.seconds / r.calls) * 1e6,
      ...(r.p50_us !== undefined ? { p50Us: r.p50_us } : {}),
      ...(r.p99_us !== undefined ? { p99Us: r.p99_us } : {}),
    }));
}

/** runKumoSequential awaits each call before the next, as the C client's single thread does. */
export async function runKumoSequential(
  conn: LibvirtConnection,
  dom: DomainRef,
  calls: number,
): Promise<Result> {
  const args = { dom: dom.handle, flags: 0 };
  for (let i = 0; i < 500; i++) await conn.remote.domainGetState(args);
  const lat = new Float64Array(calls);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const s = process.hrtime.bigint();
    await conn.remote.domainGetState(args);
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort();
  return {
    label: 'Kumo sequential',
    callsPerSecond: calls / seconds,
    meanUs: (seconds / calls) * 1e6,
    p50Us: lat[Math.floor(calls / 2)] as number,
    p99Us: lat[Math.floor(calls * 0.99)] as number,
  };
}

/**
 * runKumoPipelined keeps `width` calls outstanding on one fresh connection whose client lets
 * `maxInFlight` of them reach the daemon at once (the rest wait in the client's queue).
 */
export async function runKumoPipelined(
  uri: string,
  dom: DomainRef,
  calls: number,
  width: number,
  maxInFlight: number,
): Promise<Result> {
  const conn = await LibvirtConnection.open(uri, { maxInFlight });
  const args = { dom: dom.handle, flags: 0 };
  for (let i = 0; i < 500; i++) await conn.remote.domainGetState(args);
  let issued = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (issued < calls) {
      issued++;
      await conn.remote.domainGetState(args);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await conn.close();
  return {
    label: `Kumo ${width} in flight (max ${maxInFlight})`,
    callsPerSecond: calls / seconds,
    meanUs: (seconds / calls) * 1e6,
  };
}
