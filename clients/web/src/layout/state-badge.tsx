/**
 * StateBadge shows a resource's state (a VM's, an image's, a host's) in words, never by colour
 * alone, with the reason for it on hover.
 */
export function StateBadge({ state, reason }: { state: string; reason?: string }) {
  return (
    <span className={`state state-${state.toLowerCase()}`} title={reason || undefined}>
      {state}
    </span>
  );
}
