import { createPubSub } from 'graphql-yoga';
import type { HostStateChange } from './hosts/types.ts';
import type { OperationUpdate } from './operations/operation-runner.ts';
import type { VmStateChange } from './vms/vm-state.ts';

/**
 * EventBus carries what subscriptions stream, from the services that notice to the schema that
 * delivers: one in-process bus per controller (several replicas would need a shared one).
 */
export function createEventBus() {
  return createPubSub<{
    hostStateChanged: [HostStateChange];
    operationUpdated: [OperationUpdate];
    vmStateChanged: [VmStateChange];
  }>();
}

/** EventBus is the controller's event bus. */
export type EventBus = ReturnType<typeof createEventBus>;
