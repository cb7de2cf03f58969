import type { VmState } from './live-states.ts';

/** StateBadge shows a VM's state in words (never by colour alone), with its reason on hover. */
export function StateBadge({ state, reason }: { state: VmState; reason?: string }) {
  return (
    <span className={`state state-${state.toLowerCase()}`} title={reason || undefined}>
      {state}
    </span>
  );
}
