import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// A uPlot line chart over training steps. A series may carry a ± band (e.g. reward mean ± std):
// the band is drawn as two thin bounds with the area between them filled.

export type ChartSeries = {
  label: string;
  color: string;
  values: (number | null)[];
  /** Half-width of a band around the values (a standard deviation). */
  spread?: (number | null)[];
};

type Props = { title: string; steps: number[]; series: ChartSeries[]; height?: number };

function alpha(color: string, a: number): string {
  const hex = color.replace('#', '');
  const [r, g, b] = [0, 2, 4].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return `rgba(${r},${g},${b},${a})`;
}

// Charts are built one per task, not all in one: a page of seven charts then never holds the main
// thread for long (the e2e test watches long tasks while training runs).
const queue: Array<() => void> = [];
function inTurn(build: () => void): void {
  queue.push(build);
  if (queue.length === 1) setTimeout(drain, 0);
}
function drain(): void {
  queue.shift()?.();
  if (queue.length > 0) setTimeout(drain, 0);
}

const STEP_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000];

export function tickLabels(splits: number[]): string[] {
  const spacing = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 0;
  const largest = Math.max(0, ...splits.map(Math.abs));
  // Tiny or huge magnitudes read best as exponents; otherwise as many decimals as the spacing needs.
  if (largest !== 0 && (largest < 1e-3 || largest >= 1e5)) return splits.map((v) => v.toExponential(1));
  const decimals = spacing > 0 ? Math.min(8, Math.max(0, -Math.floor(Math.log10(spacing)))) : 2;
  return splits.map((v) => v.toFixed(decimals));
}

/** A flat series (all zeros, say) gets a small range around it instead of uPlot's 0..100. */
function yRange(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  if (min === max) {
    const pad = Math.max(Math.abs(min) * 0.5, 0.1);
    return [min - pad, max + pad];
  }
  return uPlot.rangeNum(min, max, 0.1, true);
}

function toData(steps: number[], series: ChartSeries[]): uPlot.AlignedData {
  const columns: (number | null)[][] = [];
  for (const s of series) {
    columns.push(s.values);
    if (s.spread) {
      columns.push(s.values.map((v, i) => (v === null || s.spread?.[i] == null ? null : v + s.spread[i]!)));
      columns.push(s.values.map((v, i) => (v === null || s.spread?.[i] == null ? null : v - s.spread[i]!)));
    }
  }
  return [steps, ...columns] as uPlot.AlignedData;
}

function toOptions(title: string, series: ChartSeries[], width: number, height: number): uPlot.Options {
  const uSeries: uPlot.Series[] = [{ label: 'step' }];
  const bands: uPlot.Band[] = [];
  for (const s of series) {
    const index = uSeries.length;
    uSeries.push({ label: s.label, stroke: s.color, width: 2, spanGaps: true });
    if (s.spread) {
      uSeries.push({ label: '+σ', stroke: alpha(s.color, 0.45), width: 1, spanGaps: true });
      uSeries.push({ label: '−σ', stroke: alpha(s.color, 0.45), width: 1, spanGaps: true });
      bands.push({ series: [index + 1, index + 2], fill: alpha(s.color, 0.12) });
    }
  }
  return {
    title: undefined,
    width,
    height,
    series: uSeries,
    bands,
    scales: { x: { time: false }, y: { range: yRange } },
    // Steps are whole numbers; y ticks get as many decimals as their spacing needs.
    axes: [
      { label: 'step', stroke: '#374151', incrs: STEP_INCREMENTS },
      { stroke: '#374151', values: (_u, splits) => tickLabels(splits), size: 70 },
    ],
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    // The title is rendered by the page (an h3), so screen readers get it as text.
    id: title.replace(/\W+/g, '-'),
  };
}

export function Chart({ title, steps, series, height = 180 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}:${s.spread ? 1 : 0}`).join('|');

  const latestData = useRef({ steps, series });
  latestData.current = { steps, series };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let cancelled = false;
    const observer = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(240, el.clientWidth), height });
    });
    inTurn(() => {
      if (cancelled) return;
      const { steps: s, series: ss } = latestData.current;
      plot.current = new uPlot(
        toOptions(title, ss, Math.max(240, el.clientWidth), height),
        toData(s, ss),
        el,
      );
      observer.observe(el);
    });
    return () => {
      cancelled = true;
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(toData(steps, series));
  });

  const latest = series
    .map((s) => {
      const v = s.values[s.values.length - 1];
      return `${s.label} ${v == null ? '—' : v.toFixed(3)}`;
    })
    .join(', ');

  return (
    <figure class="chart" data-testid={`chart-${title}`} data-points={steps.length}>
      <h3>{title}</h3>
      <div ref={box} role="img" aria-label={`${title}: ${steps.length} steps; latest ${latest}`} />
    </figure>
  );
}
