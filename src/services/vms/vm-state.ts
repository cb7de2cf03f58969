import type { EntityManager } from '@mikro-orm/core';
import type { HostId, VmId } from '../../entities/ids.ts';
import { Vm, type VmState } from '../../entities/vm.ts';
import type { DomainState } from '../../libvirt/api/domains.ts';
import type { EventBus } from '../events.ts';

/** VmStateChange is what subscribers of vmStateChanged receive. */
export interface VmStateChange {
  readonly vmId: VmId;
  readonly state: VmState;
  readonly previous: VmState;
  readonly reason: string;
  readonly at: Date;
}

/** vmStateOf maps a libvirt domain state to the VM state Kumo shows. */
export function vmStateOf(s: DomainState): VmState {
  switch (s) {
    case 'running':
    case 'blocked':
    // `shutdown` is libvirt's "being shut down": still running until it is off.
    case 'shutdown':
      return 'RUNNING';
    case 'paused':
    case 'pmsuspended':
      return 'PAUSED';
    case 'shutoff':
      return 'STOPPED';
    case 'crashed':
      return 'CRASHED';
    default:
      return 'UNKNOWN';
  }
}

/** CREATION_INTERRUPTED is the reason of a VM whose creation a controller restart cut short. */
export const CREATION_INTERRUPTED = 'its creation was cut short by a controller restart';

/**
 * VmStateRecorder writes a VM's new state and publishes vmStateChanged, once per real change:
 * the services after their own actions, the watcher for libvirt's events and the reconciler's
 * sweeps all report here, so whoever notices first records it and the others find it done.
 */
export class VmStateRecorder {
  private readonly fork: () => EntityManager;
  private readonly events: EventBus;
  private readonly queues = new Map<VmId, Promise<boolean>>();

  constructor(fork: () => EntityManager, events: EventBus) {
    this.fork = fork;
    this.events = events;
  }

  /**
   * record sets the VM's state; false when it was that already (or the VM is gone). An action's
   * own account (`explains`) replaces the reason of an event that recorded the same state first:
   * "forced off after 60 s" says more than "libvirt: stopped".
   */
  record(vmId: VmId, state: VmState, reason: string, explains = false): Promise<boolean> {
    return this.queue(vmId, () => this.write(vmId, state, reason, explains, null));
  }

  /**
   * recordOn records what one host says of a VM, if the VM is still that host's and no
   * operation is making or moving it: an observation that raced with a move is dropped.
   */
  recordOn(hostId: HostId, vmId: VmId, state: VmState, reason: string): Promise<boolean> {
    return this.queue(vmId, () => this.write(vmId, state, reason, false, hostId));
  }

  // One at a time per VM: an event and an action's own account may race, and each reads the
  // state before writing it.
  private queue(vmId: VmId, write: () => Promise<boolean>): Promise<boolean> {
    const next = (this.queues.get(vmId) ?? Promise.resolve(false)).then(write, write);
    this.queues.set(vmId, next);
    void next
      .finally(() => {
        if (this.queues.get(vmId) === next) this.queues.delete(vmId);
      })
      .catch(() => undefined);
    return next;
  }

  private async write(
    vmId: VmId,
    state: VmState,
    reason: string,
    explains: boolean,
    onHost: HostId | null,
  ): Promise<boolean> {
    const em = this.fork();
    const vm = await em.findOne(Vm, { id: vmId });
    if (!vm) return false;
    if (onHost && (vm.host?.id !== onHost || vm.state === 'CREATING' || vm.state === 'MIGRATING'))
      return false;
    if (vm.state === state) {
      if (explains && vm.stateReason !== reason) {
        vm.stateReason = reason;
        await em.flush();
      }
      return false;
    }
    const previous = vm.state;
    vm.state = state;
    vm.stateReason = reason;
    await em.flush();
    this.events.publish('vmStateChanged', { vmId, state, previous, reason, at: new Date() });
    return true;
  }
}
