import type { HostId } from '../../entities/ids.ts';
import { Limiter } from '../limiter.ts';

/**
 * HostStarts bounds how many domains each host starts at once. Starting QEMU is heavy on the
 * host's CPU: asked for fifty at once, a host answers some starts only after libvirt's call
 * time-out (bench/README.md, provisioning); in line, each is quick.
 */
export class HostStarts {
  private readonly max: number;
  private readonly hosts = new Map<HostId, Limiter>();

  constructor(max: number) {
    this.max = max;
  }

  /** run runs a start on the host when it has a free slot. */
  run<T>(host: HostId, start: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let limiter = this.hosts.get(host);
    if (!limiter) {
      limiter = new Limiter(this.max);
      this.hosts.set(host, limiter);
    }
    return limiter.run(start, signal);
  }
}
