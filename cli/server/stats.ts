/** Decisions and review latency over time, for the console's charts. */
import type { CommandRecord } from '../../engine/index.js';

const STATES = ['whitelisted', 'approved', 'denied', 'timed_out', 'pending'] as const;

export interface StatsBucket {
  readonly start: string;
  readonly whitelisted: number;
  readonly approved: number;
  readonly denied: number;
  readonly timed_out: number;
  readonly pending: number;
  /** Review latency of the commands a person decided (approved or denied by a reviewer). */
  readonly reviewed: number;
  readonly latency_p50_ms: number | null;
  readonly latency_p95_ms: number | null;
}

/** Commands counted by decision per hour or day (UTC) of submission, oldest bucket first. */
export function commandStats(
  records: readonly CommandRecord[],
  bucket: 'hour' | 'day',
  to?: string,
): { bucket: 'hour' | 'day'; buckets: StatsBucket[] } {
  const width = bucket === 'hour' ? 3_600_000 : 86_400_000;
  const until = to === undefined ? Infinity : Date.parse(to);
  const groups = new Map<number, { counts: Record<(typeof STATES)[number], number>; latencies: number[] }>();
  for (const r of records) {
    const at = Date.parse(r.submitted_at);
    if (!(at < until)) continue;
    const start = Math.floor(at / width) * width;
    let g = groups.get(start);
    if (!g) {
      g = { counts: { whitelisted: 0, approved: 0, denied: 0, timed_out: 0, pending: 0 }, latencies: [] };
      groups.set(start, g);
    }
    g.counts[r.decision]++;
    if (r.review_latency_ms !== null && r.signatures.length > 0) g.latencies.push(r.review_latency_ms);
  }
  const buckets = [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, g]) => {
      const sorted = g.latencies.sort((a, b) => a - b);
      return {
        start: new Date(start).toISOString(),
        ...g.counts,
        reviewed: sorted.length,
        latency_p50_ms: percentile(sorted, 0.5),
        latency_p95_ms: percentile(sorted, 0.95),
      };
    });
  return { bucket, buckets };
}

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
