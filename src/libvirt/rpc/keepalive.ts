/** KeepaliveOptions follow libvirt's client defaults: a ping after 5 s of silence, dead after 5 more. */
export interface KeepaliveOptions {
  /** intervalMs is the silence after which we ping. @default 5000 */
  readonly intervalMs: number;
  /** count is how many unanswered pings declare the peer dead. @default 5 */
  readonly count: number;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 5000, count: 5 };

/**
 * Keepalive watches a connection's inbound traffic. Any frame counts as a sign of life (as in
 * libvirt's virkeepalive.c), so a busy connection never pings; a silent one is pinged every
 * interval, and declared dead after `count` pings with nothing heard back.
 */
export class Keepalive {
  private readonly opts: KeepaliveOptions;
  private readonly ping: () => void;
  private readonly dead: (silentMs: number) => void;
  private timer: NodeJS.Timeout | null = null;
  private lastHeard = Date.now();
  private unanswered = 0;
  private held = false;

  constructor(opts: KeepaliveOptions, ping: () => void, dead: (silentMs: number) => void) {
    this.opts = opts;
    this.ping = ping;
    this.dead = dead;
  }

  start(): void {
    this.lastHeard = Date.now();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** heard records that a frame arrived from the peer. */
  heard(): void {
    this.lastHeard = Date.now();
    this.unanswered = 0;
  }

  /**
   * hold suspends the dead-peer verdict while we ourselves stop reading (stream backpressure):
   * the peer's frames are then waiting in our socket, not missing.
   */
  hold(held: boolean): void {
    this.held = held;
    if (!held) this.heard();
  }

  private tick(): void {
    if (this.held) return;
    const silent = Date.now() - this.lastHeard;
    if (silent < this.opts.intervalMs) return;
    if (this.unanswered >= this.opts.count) {
      this.stop();
      this.dead(silent);
      return;
    }
    this.unanswered++;
    this.ping();
  }
}
