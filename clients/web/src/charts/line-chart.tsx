/** Series is one line of a chart: its name and its values, one per sample. */
export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

const WIDTH = 320;
const HEIGHT = 90;
const COLOURS = ['#2456c7', '#b3261e'];

/**
 * LineChart draws a few series over the same samples as an SVG, scaled to the largest value
 * (or `max`), newest on the right. The figure says in words what the lines show: the latest
 * and the highest value of each series.
 */
export function LineChart({
  title,
  series,
  format,
  max,
}: {
  title: string;
  series: readonly Series[];
  format: (value: number) => string;
  max?: number;
}) {
  const samples = Math.max(2, ...series.map((s) => s.values.length));
  const top = max ?? Math.max(1e-9, ...series.flatMap((s) => s.values));
  const x = (i: number) => (i / (samples - 1)) * WIDTH;
  const y = (v: number) => HEIGHT - (Math.min(v, top) / top) * (HEIGHT - 4) - 2;
  const summary = series
    .map((s) => {
      const latest = s.values.at(-1);
      return latest === undefined
        ? `${s.name}: no sample yet`
        : `${s.name} ${format(latest)} now, ${format(Math.max(...s.values))} at most`;
    })
    .join('; ');
  return (
    <figure className="chart">
      <figcaption>
        <span>{title}</span>
        <span className="chart-now">
          {series.map((s, i) => (
            <span key={s.name} style={{ color: COLOURS[i % COLOURS.length] }}>
              {series.length > 1 ? `${s.name} ` : ''}
              {s.values.length > 0 ? format(s.values.at(-1) ?? 0) : '—'}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}: ${summary}`}>
        <line x1={0} x2={WIDTH} y1={HEIGHT - 1} y2={HEIGHT - 1} className="axis" />
        {series.map((s, i) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={COLOURS[i % COLOURS.length]}
            strokeWidth={2}
            points={s.values
              .map((v, j) => `${x(j + samples - s.values.length).toFixed(1)},${y(v).toFixed(1)}`)
              .join(' ')}
          />
        ))}
      </svg>
    </figure>
  );
}
