import { ended, type LiveOperation, useLiveOperations } from '../operations/live-operations.ts';
import { ProgressBar } from '../operations/progress-bar.tsx';

/**
 * VmOperations shows what is under way on a VM (migration, shutdown, clone...) with live
 * progress, as its operations report it, and how the last one ended.
 */
export function VmOperations({
  vmId,
  onEnded,
}: {
  vmId: string;
  onEnded: (op: LiveOperation) => void;
}) {
  const operations = useLiveOperations((op) => {
    if (op.operation?.target === vmId) onEnded(op);
  });
  const op = operations.get(vmId);
  if (!op) return null;
  const what = op.operation?.kind ?? 'operation';
  return (
    <section aria-labelledby="operation-title">
      <h2 id="operation-title">Under way</h2>
      {ended(op) ? (
        <p role="status">
          {what}: {op.status.toLowerCase()}
          {op.error ? ` (${op.error})` : ''}
        </p>
      ) : (
        <ProgressBar op={op} label={`${what} of this VM`} />
      )}
    </section>
  );
}
