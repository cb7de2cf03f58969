/**
 * MeterBar shows how much of a capacity is used: a native meter (read out by screen readers)
 * with the figures beside it.
 */
export function MeterBar({
  label,
  used,
  total,
  text,
}: {
  label: string;
  used: number;
  total: number;
  text: string;
}) {
  return (
    <div className="meter">
      <meter
        aria-label={label}
        min={0}
        max={total || 1}
        value={Math.min(used, total)}
        low={0.7 * total}
        high={0.9 * total}
        optimum={0}
      />
      <span>{text}</span>
    </div>
  );
}
