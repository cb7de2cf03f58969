import type { EntityManager } from '../../db/database.ts';
import { Host } from '../../entities/host.ts';
import type { HostId } from '../../entities/ids.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { HostMonitor } from './host-monitor.ts';
import { adminHoldOf, monitoredHost } from './host-service.ts';
import type { AdminHold, MonitoredHost } from './types.ts';

/**
 * HostSync keeps the monitor's hosts as the hosts table says: another replica may have added,
 * changed, held or removed one. `host` applies one host's row (told by the event bus); `all`
 * compares every row (at start, and now and then in case an event was missed). Applying what
 * the monitor has already is a no-op, so the replica that made the change is not disturbed.
 */
export class HostSync {
  private readonly fork: () => EntityManager;
  private readonly monitor: HostMonitor;
  private readonly secrets: SecretBox;
  private readonly seen = new Map<string, string>();

  constructor(fork: () => EntityManager, monitor: HostMonitor, secrets: SecretBox) {
    this.fork = fork;
    this.monitor = monitor;
    this.secrets = secrets;
  }

  /** host applies one host's row, or forgets the host when the row is gone. */
  async host(id: HostId): Promise<void> {
    const row = await this.fork().findOne(Host, { id });
    if (row) await this.apply(row);
    else await this.forget(id);
  }

  /** all applies every row and forgets the hosts that have none. */
  async all(): Promise<void> {
    const rows = await this.fork().find(Host, {});
    const ids = new Set<string>(rows.map((h) => h.id));
    for (const row of rows) await this.apply(row);
    for (const id of this.monitor.ids()) if (!ids.has(id)) await this.forget(id);
  }

  private async forget(id: string): Promise<void> {
    this.seen.delete(id);
    if (this.monitor.has(id)) await this.monitor.remove(id);
  }

  private async apply(row: Host): Promise<void> {
    const hold = adminHoldOf(row);
    if (!this.monitor.has(row.id)) {
      this.monitor.add(monitoredHost(row, this.secrets));
      this.seen.set(row.id, connectionOf(row));
      return;
    }
    const have = this.monitor.spec(row.id);
    // Credentials are opened (decrypted) only when the row's sealed text changed.
    if (this.seen.get(row.id) !== connectionOf(row)) {
      const want = monitoredHost(row, this.secrets);
      if (have.uri !== want.uri || !sameJson(have.credentials, want.credentials))
        await this.monitor.update(want);
      this.seen.set(row.id, connectionOf(row));
    }
    if (!sameHold(have.admin, hold ?? undefined))
      await this.monitor.setAdminState(row.id, hold?.state ?? null, hold?.reason);
  }
}

// What the monitor's connection to a host depends on, as the row has it.
function connectionOf(row: Host): string {
  return `${row.uri}\n${row.credentials ?? ''}`;
}

function sameHold(a: AdminHold | undefined, b: AdminHold | undefined): boolean {
  return a?.state === b?.state;
}

function sameJson(a: MonitoredHost['credentials'], b: MonitoredHost['credentials']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
