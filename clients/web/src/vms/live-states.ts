import { useRef, useState } from 'react';
import { useSubscription } from 'urql';
import { graphql, type ResultOf } from '../../../graphql/graphql.ts';

/** VM_STATE_CHANGED follows every change of state of the VMs the viewer may see. */
export const VM_STATE_CHANGED = graphql(`subscription VmStateChanged {
  vmStateChanged { vmId state previous reason at } }`);

/** VmState is one of the states the API gives a VM. */
export type VmState = ResultOf<typeof VM_STATE_CHANGED>['vmStateChanged']['state'];

/** LiveState is a VM's state as last reported, with libvirt's reason for it. */
export interface LiveState {
  readonly state: VmState;
  readonly reason: string;
}

/** LiveStates are the states seen since the page opened, over what its query read. */
export interface LiveStates {
  readonly states: ReadonlyMap<string, LiveState>;
  /** unknown counts events of VMs the page did not list: a reason to read the list again. */
  readonly unknown: number;
}

/**
 * useLiveStates keeps the latest state of each VM from the `vmStateChanged` subscription, so
 * a table shows a VM turn RUNNING without reloading; `known` says which VMs are on the page.
 */
export function useLiveStates(known: ReadonlySet<string>): LiveStates {
  const listed = useRef(known);
  listed.current = known;
  const [unknown, setUnknown] = useState(0);
  const [states, setStates] = useState<ReadonlyMap<string, LiveState>>(new Map());
  useSubscription({ query: VM_STATE_CHANGED }, (_prev, event) => {
    const e = event.vmStateChanged;
    setStates((m) => new Map(m).set(e.vmId, { state: e.state, reason: e.reason }));
    if (!listed.current.has(e.vmId)) setUnknown((n) => n + 1);
    return event;
  });
  return { states, unknown };
}
