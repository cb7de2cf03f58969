import type { VmId } from '../../entities/ids.ts';
import type { EventBus } from '../events.ts';
import type { VmUsage } from './usage-collector.ts';

/** VmMetrics are one VM's rates over the last metering interval (vmMetrics subscriptions). */
export interface VmMetrics {
  readonly vmId: VmId;
  readonly at: Date;
  /** seconds is the interval the rates are over. */
  readonly seconds: number;
  /** cpuPercent is its vCPUs' busy time as a share of all of them (100: every vCPU busy). */
  readonly cpuPercent: number;
  readonly memoryBytes: bigint;
  readonly diskReadBytesPerSecond: number;
  readonly diskWriteBytesPerSecond: number;
  readonly netRxBytesPerSecond: number;
  readonly netTxBytesPerSecond: number;
}

/** metricsOf turns what a VM used since its last reading into rates. */
export function metricsOf(u: VmUsage): VmMetrics {
  const rate = (v: bigint) => Number(v) / u.seconds;
  return {
    vmId: u.vmId,
    at: u.at,
    seconds: u.seconds,
    // No guest uses more than all its vCPUs' time. A reading is timed when its reply is read,
    // a little after the daemon sampled it; over a very short interval that delay's jitter can
    // show a busy guest above 100.
    cpuPercent: Math.min(
      100,
      (Number(u.used.cpuNs) / (u.seconds * 1e9 * Math.max(1, u.vcpus))) * 100,
    ),
    memoryBytes: u.memoryBytes,
    diskReadBytesPerSecond: rate(u.used.diskReadBytes),
    diskWriteBytesPerSecond: rate(u.used.diskWriteBytes),
    netRxBytesPerSecond: rate(u.used.netRxBytes),
    netTxBytesPerSecond: rate(u.used.netTxBytes),
  };
}

/**
 * publishMetrics streams a round's rates to vmMetrics subscribers (when any replica has one) and
 * tells quotaUsageChanged subscribers that consumption may have moved.
 */
export async function publishMetrics(events: EventBus, usage: readonly VmUsage[]): Promise<void> {
  if (await events.heardAnywhere('vmMetrics'))
    for (const u of usage) if (u.seconds > 0) events.publish('vmMetrics', metricsOf(u));
  events.publish('quotaUsageTouched', null);
}
