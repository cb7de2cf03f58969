import { useState } from 'react';
import { useClient } from 'urql';
import { graphql } from '../../../graphql/graphql.ts';
import { ErrorList, problemsOf } from '../layout/error-list.tsx';
import { type Change, useChange } from '../layout/use-change.ts';
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
  const client = useClient();
  const { busy, problems, run } = useChange();
  const [confirming, setConfirming] = useState(false);
  const operate = mayAct(viewer, vm.myRole, 'OPERATOR');
  const own = mayAct(viewer, vm.myRole, 'OWNER');
  const id = { id: vm.id };
  const label = (what: string) => `${what} ${vm.name}`;
  // What an operator may do, by the states it applies to.
  const powers: ReadonlyArray<{ label: string; when: readonly VmState[]; change: Change }> = [
    {
      label: 'Start',
      when: ['STOPPED', 'CRASHED'],
      change: async () => {
        const r = await client.mutation(VM_START, id).toPromise();
        return problemsOf(r.data?.vmStart.userErrors, r.error);
      },
    },
    {
      label: 'Shut down',
      when: ['RUNNING'],
      change: async () => {
        const r = await client.mutation(VM_SHUTDOWN, id).toPromise();
        return problemsOf(r.data?.vmShutdown.userErrors, r.error);
      },
    },
    {
      label: 'Resume',
      when: ['PAUSED'],
      change: async () => {
        const r = await client.mutation(VM_RESUME, id).toPromise();
        return problemsOf(r.data?.vmResume.userErrors, r.error);
      },
    },
    {
      label: 'Power off',
      when: ['RUNNING', 'PAUSED'],
      change: async () => {
        const r = await client.mutation(VM_POWER_OFF, id).toPromise();
        return problemsOf(r.data?.vmPowerOff.userErrors, r.error);
      },
    },
  ];
  const remove = async () => {
    let removed = false;
    await run(async () => {
      const r = await client.mutation(VM_REMOVE, id).toPromise();
      removed = Boolean(r.data?.vmRemove.removedVmId);
      return problemsOf(r.data?.vmRemove.userErrors, r.error);
    });
    setConfirming(false);
    if (removed) onRemoved();
  };
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
              onClick={() => run(p.change)}
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
            onClick={remove}
          >
            Remove for good
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </fieldset>
      )}
      <ErrorList userErrors={problems} />
    </div>
  );
}
