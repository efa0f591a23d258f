/** Decisions and review latency over time, drawn as SVG through the DOM (no chart library, no inline style). */
import { h, svg } from './dom.js';
import { duration } from './format.js';
import type { StatsBucket } from './types.js';

const W = 560;
const H = 150;
const PAD = { left: 44, right: 8, top: 10, bottom: 24 };
const SERIES = ['whitelisted', 'approved', 'denied', 'timed_out', 'pending'] as const;

/**
 * Every bucket of the range, empty ones too (the server sends only those with commands), so
 * time runs evenly along the axis.
 */
export function fillRange(
  buckets: readonly StatsBucket[],
  bucket: 'hour' | 'day',
  from: number,
  to: number,
): StatsBucket[] {
  const step = bucket === 'hour' ? 3600_000 : 86_400_000;
  const byStart = new Map(buckets.map((b) => [Math.floor(Date.parse(b.start) / step), b]));
  const out: StatsBucket[] = [];
  for (let i = Math.floor(from / step); i <= Math.floor(to / step); i++) {
    const start = new Date(i * step).toISOString();
    out.push(
      byStart.get(i) ?? {
        start,
        approved: 0,
        denied: 0,
        timed_out: 0,
        whitelisted: 0,
        pending: 0,
        latency_p50_ms: null,
        latency_p95_ms: null,
      },
    );
  }
  return out;
}

function label(start: string, bucket: 'hour' | 'day'): string {
  const d = new Date(start);
  return bucket === 'hour' ? `${String(d.getHours()).padStart(2, '0')}h` : `${d.getMonth() + 1}/${d.getDate()}`;
}

function frame(title: string, desc: string): SVGSVGElement {
  return svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title },
    svg('title', {}, title),
    svg('desc', {}, desc),
  );
}

function axis(
  chart: SVGSVGElement,
  buckets: readonly StatsBucket[],
  bucket: 'hour' | 'day',
  max: number,
  fmt: (v: number) => string,
): void {
  const plotH = H - PAD.top - PAD.bottom;
  for (const f of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - f);
    chart.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }),
      svg('text', { x: PAD.left - 4, y: y + 4, class: 'tick', 'text-anchor': 'end' }, fmt(max * f)),
    );
  }
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  const step = (W - PAD.left - PAD.right) / Math.max(1, buckets.length);
  buckets.forEach((b, i) => {
    if (i % every === 0)
      chart.append(
        svg(
          'text',
          { x: PAD.left + step * (i + 0.5), y: H - 6, class: 'tick', 'text-anchor': 'middle' },
          label(b.start, bucket),
        ),
      );
  });
}

/** Stacked bars: how many commands ended in each decision, per bucket. */
export function decisionsChart(buckets: readonly StatsBucket[], bucket: 'hour' | 'day'): Element {
  const total = (b: StatsBucket): number => SERIES.reduce((n, s) => n + (b[s] ?? 0), 0);
  // an even top, so the middle grid line is a whole number too
  const max = Math.max(2, Math.ceil(Math.max(...buckets.map(total)) / 2) * 2);
  const sum = buckets.reduce((n, b) => n + total(b), 0);
  const chart = frame('Decisions over time', `${sum} commands in ${buckets.length} ${bucket}s`);
  axis(chart, buckets, bucket, max, (v) => String(Math.round(v)));
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(1, buckets.length);
  buckets.forEach((b, i) => {
    let y = PAD.top + plotH;
    for (const s of SERIES) {
      const n = b[s] ?? 0;
      if (!n) continue;
      const bh = (n / max) * plotH;
      y -= bh;
      chart.append(
        svg(
          'rect',
          {
            x: PAD.left + step * i + step * 0.15,
            y,
            width: Math.max(1, step * 0.7),
            height: bh,
            class: `bar state-${s}`,
          },
          svg('title', {}, `${label(b.start, bucket)}: ${n} ${s.replace('_', ' ')}`),
        ),
      );
    }
  });
  return h(
    'figure',
    { class: 'chart-box' },
    chart,
    legend(SERIES.map((s) => [`state-${s}`, s.replace('_', ' ')])),
    h('figcaption', {}, 'Decisions'),
  );
}

/** Review latency (median and 95th percentile) of reviewers' decisions, per bucket. */
export function latencyChart(buckets: readonly StatsBucket[], bucket: 'hour' | 'day'): Element {
  const values = buckets.flatMap((b) => [b.latency_p50_ms, b.latency_p95_ms]).filter((v): v is number => v !== null);
  const max = Math.max(1000, ...values);
  const chart = frame(
    'Review latency over time',
    values.length ? `95th percentile up to ${duration(max)}` : 'no reviewed decisions',
  );
  axis(chart, buckets, bucket, max, (v) => (v === 0 ? '0' : duration(v)));
  const plotH = H - PAD.top - PAD.bottom;
  const step = (W - PAD.left - PAD.right) / Math.max(1, buckets.length);
  for (const [key, cls] of [
    ['latency_p95_ms', 'p95'],
    ['latency_p50_ms', 'p50'],
  ] as const) {
    const points = buckets
      .map((b, i) => [PAD.left + step * (i + 0.5), b[key]] as const)
      .filter((p): p is readonly [number, number] => p[1] !== null)
      .map(([x, v]) => [x, PAD.top + plotH * (1 - v / max), v] as const);
    if (points.length > 1)
      chart.append(svg('polyline', { points: points.map(([x, y]) => `${x},${y}`).join(' '), class: `line ${cls}` }));
    for (const [x, y, v] of points)
      chart.append(
        svg('circle', { cx: x, cy: y, r: 3, class: `dot ${cls}` }, svg('title', {}, `${cls}: ${duration(v)}`)),
      );
  }
  return h(
    'figure',
    { class: 'chart-box' },
    chart,
    legend([
      ['p50', 'median'],
      ['p95', '95th percentile'],
    ]),
    h('figcaption', {}, 'Review latency'),
  );
}

function legend(items: readonly (readonly [string, string])[]): HTMLElement {
  return h(
    'ul',
    { class: 'legend' },
    ...items.map(([cls, text]) => h('li', {}, h('span', { class: `swatch ${cls}` }), text)),
  );
}
