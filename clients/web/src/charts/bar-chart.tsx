/** Bar is one bucket of a bar chart. */
export interface Bar {
  readonly label: string;
  readonly value: number;
}

const WIDTH = 640;
const HEIGHT = 120;

/**
 * BarChart draws buckets as bars, scaled to the largest; each bar carries its label and value
 * as a tooltip, and the figure says its total and peak in words.
 */
export function BarChart({
  title,
  bars,
  format,
}: {
  title: string;
  bars: readonly Bar[];
  format: (value: number) => string;
}) {
  const top = Math.max(1e-9, ...bars.map((b) => b.value));
  const total = bars.reduce((sum, b) => sum + b.value, 0);
  const peak = bars.reduce<Bar | null>((p, b) => (p && p.value >= b.value ? p : b), null);
  const step = WIDTH / Math.max(1, bars.length);
  const summary = peak
    ? `${format(total)} in all; the most, ${format(peak.value)}, at ${peak.label}`
    : 'nothing yet';
  return (
    <figure className="chart">
      <figcaption>
        <span>{title}</span>
        <span className="chart-now">{format(total)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}: ${summary}`}>
        <line x1={0} x2={WIDTH} y1={HEIGHT - 1} y2={HEIGHT - 1} className="axis" />
        {bars.map((b, i) => {
          const h = (b.value / top) * (HEIGHT - 4);
          return (
            <rect
              key={b.label}
              x={i * step + step * 0.1}
              y={HEIGHT - 1 - h}
              width={step * 0.8}
              height={h}
              className="bar"
            >
              <title>{`${b.label}: ${format(b.value)}`}</title>
            </rect>
          );
        })}
      </svg>
    </figure>
  );
}
