// A stacked bar chart in SVG (no chart library: the console stays small and works offline). Colours come from CSS
// classes; the numbers are in each bar's tooltip and in a data table under the chart for keyboard and screen readers.

export interface Series {
  readonly key: string;
  readonly label: string;
  /** CSS class giving the fill colour. */
  readonly tone: string;
}

export interface Bar {
  /** Short axis label ("Mar 2026"). */
  readonly label: string;
  readonly values: Readonly<Record<string, number>>;
}

export function StackedBars({
  title,
  series,
  bars,
  unit,
  format = (n) => String(n),
  width = 720,
  height = 150,
}: {
  title: string;
  series: readonly Series[];
  bars: readonly Bar[];
  unit: string;
  format?: (n: number) => string;
  /** The drawing's own units: the SVG scales to its container, so a narrow container wants a narrower drawing. */
  width?: number;
  height?: number;
}) {
  const left = 44;
  const bottom = 22;
  const plotW = width - left - 8;
  const plotH = height - bottom - 8;
  const totals = bars.map((b) => series.reduce((s, x) => s + (b.values[x.key] ?? 0), 0));
  // A round top for the scale: 1, 2, 5 × a power of ten, so the grid lines fall on whole numbers.
  const peak = Math.max(1, ...totals);
  const step = 10 ** Math.floor(Math.log10(peak));
  const max = [1, 2, 5, 10].map((m) => m * step).find((m) => m >= peak) ?? peak;
  const slot = plotW / Math.max(1, bars.length);
  const barW = Math.max(1, Math.min(28, slot * 0.72));
  // As many axis labels as fit (about 64 units each).
  const labelEvery = Math.max(1, Math.ceil(bars.length / Math.max(1, Math.floor(plotW / 64))));
  const y = (v: number) => 8 + plotH - (v / max) * plotH;
  const ticks = Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max];
  const summary = `${title}: ${bars.length} bars, at most ${format(peak)} ${unit}`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary}>
        {ticks.map((t) => (
          <g key={t} class="axis">
            <line x1={left} x2={width - 8} y1={y(t)} y2={y(t)} />
            <text x={left - 6} y={y(t) + 4} text-anchor="end">
              {format(Math.round(t))}
            </text>
          </g>
        ))}
        {bars.map((b, i) => {
          const x = left + i * slot + (slot - barW) / 2;
          let base = 0;
          return (
            <g key={b.label + i}>
              <title>{`${b.label}: ${series.map((s) => `${s.label} ${format(b.values[s.key] ?? 0)}`).join(', ')}`}</title>
              {series.map((s) => {
                const v = b.values[s.key] ?? 0;
                if (v === 0) return null;
                const top = y(base + v);
                const h = y(base) - top;
                base += v;
                return <rect key={s.key} class={s.tone} x={x} y={top} width={barW} height={Math.max(h, 0.5)} />;
              })}
              {i % labelEvery === 0 && (
                <text class="axis-label" x={x + barW / 2} y={height - 6} text-anchor="middle">
                  {b.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {series.map((s) => (
            <li key={s.key}>
              <span class={`swatch ${s.tone}`} aria-hidden="true" />
              {s.label}
            </li>
          ))}
        </ul>
        <details>
          <summary>{title} as a table</summary>
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Period</th>
                {series.map((s) => (
                  <th scope="col" key={s.key}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {bars.map((b, i) => (
                <tr key={b.label + i}>
                  <th scope="row">{b.label}</th>
                  {series.map((s) => (
                    <td key={s.key}>{format(b.values[s.key] ?? 0)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
