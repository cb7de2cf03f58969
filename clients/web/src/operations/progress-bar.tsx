import { bytes } from '../../../values/units.ts';
import type { LiveOperation } from './live-operations.ts';

/**
 * ProgressBar shows a running operation: a labelled progress bar, its phase, and the bytes
 * moved when it is a transfer.
 */
export function ProgressBar({ op, label }: { op: LiveOperation; label: string }) {
  const percent = Math.round(op.progress * 100);
  const moved = op.transfer
    ? `${bytes(op.transfer.transferredBytes)}${op.transfer.totalBytes ? ` of ${bytes(op.transfer.totalBytes)}` : ''}`
    : null;
  return (
    <div className="progress">
      <progress max={100} value={percent} aria-label={label}>
        {percent}%
      </progress>
      <span>
        {percent}%{op.phase ? `, ${op.phase}` : ''}
        {moved ? ` (${moved})` : ''}
      </span>
    </div>
  );
}
