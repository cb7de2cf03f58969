import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList, type ShownError } from '../layout/error-list.tsx';
import { mayAct, type Role } from '../session/roles.ts';
import { useViewer } from '../session/viewer.tsx';
import type { VmState } from './live-states.ts';

const VM_START = graphql(`mutation VmStart($id: ID!) {
  vmStart(input: { id: $id }) { vm { id state } userErrors { code field message } } }`);
const VM_SHUTDOWN = graphql(`mutation VmShutdown($id: ID!) {
  vmShutdown(input: { id: $id }) { vm { id state } userErrors { code field message } } }`);
const VM_POWER_OFF = graphql(`mutation VmPowerOff($id: ID!) {
  vmPowerOff(input: { id: $id }) { vm { id state } userErrors { code field message } } }`);
const VM_RESUME = graphql(`mutation VmResume($id: ID!) {
  vmResume(input: { id: $id }) { vm { id state } userErrors { code field message } } }`);
const VM_REMOVE = graphql(`mutation VmRemove($id: ID!) {
  vmRemove(input: { id: $id }) { removedVmId userErrors { code field message } } }`);

/** ActedVm is what the actions need to know of a VM. */
export interface ActedVm {
  readonly id: string;
  readonly name: string;
  readonly state: VmState;
  readonly myRole: Role | null;
}

/**
 * VmActions are the buttons for what the viewer may do to a VM in its state: start, shut
 * down, power off and resume for operators; remove (after a confirmation) for owners.
 */
export function VmActions({ vm, onRemoved }: { vm: ActedVm; onRemoved: () => void }) {
  const viewer = useViewer();
  const [start, doStart] = useMutation(VM_START);
  const [shutdown, doShutdown] = useMutation(VM_SHUTDOWN);
  const [powerOff, doPowerOff] = useMutation(VM_POWER_OFF);
  const [resume, doResume] = useMutation(VM_RESUME);
  const [remove, doRemove] = useMutation(VM_REMOVE);
  const [confirming, setConfirming] = useState(false);
  const operate = mayAct(viewer, vm.myRole, 'OPERATOR');
  const own = mayAct(viewer, vm.myRole, 'OWNER');
  const busy = [start, shutdown, powerOff, resume, remove].some((r) => r.fetching);
  const userErrors: ShownError[] = [
    ...(start.data?.vmStart.userErrors ?? []),
    ...(shutdown.data?.vmShutdown.userErrors ?? []),
    ...(powerOff.data?.vmPowerOff.userErrors ?? []),
    ...(resume.data?.vmResume.userErrors ?? []),
    ...(remove.data?.vmRemove.userErrors ?? []),
  ];
  const error = start.error ?? shutdown.error ?? powerOff.error ?? resume.error ?? remove.error;
  const label = (what: string) => `${what} ${vm.name}`;
  // What an operator may do, by the states it applies to.
  const powers: ReadonlyArray<{ label: string; when: readonly VmState[]; run: () => void }> = [
    { label: 'Start', when: ['STOPPED', 'CRASHED'], run: () => doStart({ id: vm.id }) },
    { label: 'Shut down', when: ['RUNNING'], run: () => doShutdown({ id: vm.id }) },
    { label: 'Resume', when: ['PAUSED'], run: () => doResume({ id: vm.id }) },
    { label: 'Power off', when: ['RUNNING', 'PAUSED'], run: () => doPowerOff({ id: vm.id }) },
  ];
  return (
    <div className="actions">
      {operate &&
        powers
          .filter((p) => p.when.includes(vm.state))
          .map((p) => (
            <button
              key={p.label}
              type="button"
              disabled={busy}
              aria-label={label(p.label)}
              onClick={p.run}
            >
              {p.label}
            </button>
          ))}
      {own && !confirming && (
        <button
          type="button"
          disabled={busy}
          aria-label={label('Remove')}
          onClick={() => setConfirming(true)}
        >
          Remove
        </button>
      )}
      {own && confirming && (
        <fieldset className="confirm">
          <legend className="visually-hidden">Remove {vm.name}?</legend>
          <button
            type="button"
            className="danger"
            disabled={busy}
            aria-label={label('Confirm removing')}
            onClick={async () => {
              const r = await doRemove({ id: vm.id });
              setConfirming(false);
              if (r.data?.vmRemove.removedVmId) onRemoved();
            }}
          >
            Remove for good
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </fieldset>
      )}
      <ErrorList error={error} userErrors={userErrors} />
    </div>
  );
}
