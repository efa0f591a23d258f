/**
 * Figures through a resident gate (`serve`), joined to the sections they compare with:
 *
 *   startup   the thin client's `check` (socket found next to the store; --server unix:) against
 *             `node -e 0` in the same rounds — target ≤ 1.25×
 *   durable   durable submissions/s at 1, 4, 16 agents through the server (HTTP, keep-alive),
 *             next to the in-process figures — target ≥ 2,000/s at 16
 *   server    submit latency p50/p99 at a steady 200 requests/s — target p99 ≤ 5 ms
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { round, type BenchResults } from './results.js';
import { percentile, post, startBenchServer } from './serve-process.js';
import { startupRows, timeRun } from './startup.js';

const AGENTS = [1, 4, 16];

export async function serverFigures(results: BenchResults, bin: string, stub: string, runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-serve-'));
  mkdirSync(join(dir, '.policy-gate'));
  const server = await startBenchServer(bin, dir);
  try {
    const token = server.token('bench-agent', 'agent');
    // warm the server (first checks compile and JIT) and the client's page cache
    for (let i = 0; i < 20; i++) timeRun([stub, 'check', '--', 'git status'], dir);
    if (!results.has('startup'))
      results.section('startup', {
        title: `CLI start-up, median of ${runs} interleaved runs`,
        baseline: '`node -e 0` in the same rounds',
        columns: ['command', 'where', 'median ms', '× node', 'peak RSS MB'],
      });
    startupRows(
      results,
      [
        {
          name: 'policy-gate check (whitelisted), socket next to the store',
          args: [stub, 'check', '--', 'git status'],
        },
        {
          name: 'policy-gate check --server unix:… (whitelisted)',
          args: [stub, 'check', '--server', `unix:${server.socket}`, '--', 'git status'],
        },
        {
          name: 'policy-gate check --server http://… (whitelisted)',
          args: [stub, 'check', '--server', server.url, '--token', token, '--', 'git status'],
        },
      ],
      { cwd: dir, runs, where: 'through the server' },
    );

    const seconds = Number(process.env.BENCH_DURABLE_SECONDS ?? 3);
    const durable = results.section('durable', {
      title: `Durable submissions/s (whitelisted checks, ${seconds} s per cell), agents submitting at once`,
      baseline: 'the in-process figures (npm run bench without BENCH_ONLY)',
      target: '≥ 2,000 durable submissions/s',
      columns: ['agents'],
    });
    for (const agents of AGENTS) {
      const { rate, p50, p99 } = await closedLoop(server.url, token, agents, seconds, dir);
      durable.fill('agents', agents, {
        'through the server /s': Math.round(rate),
        'server p50 ms': round(p50, 2),
        'server p99 ms': round(p99, 2),
      });
    }
    durable.note('through the server: HTTP keep-alive clients in one process, each waiting for its answer');

    const section = results.section('server', {
      title: 'Server submit latency at a steady request rate (whitelisted checks over HTTP)',
      baseline: 'the same requests one at a time, nothing else running (the server alone)',
      target: 'p99 ≤ 5 ms at 200 requests/s',
      columns: ['rate /s', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    });
    const alone = await closedLoop(server.url, token, 1, 2, dir);
    section.add({
      'rate /s': 'one at a time',
      requests: alone.count,
      'p50 ms': round(alone.p50, 2),
      'p99 ms': round(alone.p99, 2),
    });
    for (const rate of [100, 200]) {
      const r = await openLoop(server.url, token, rate, Number(process.env.BENCH_SERVER_SECONDS ?? 5), dir);
      section.add({
        'rate /s': rate,
        requests: r.count,
        'p50 ms': round(r.p50, 2),
        'p90 ms': round(r.p90, 2),
        'p99 ms': round(r.p99, 2),
        'max ms': round(r.max, 1),
      });
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `agents` clients, each submitting and waiting for its answer, for `seconds`; with several
 * servers (replicas), agent `a` submits to the `a % n`th.
 */
export async function closedLoop(
  url: string | readonly string[],
  token: string,
  agents: number,
  seconds: number,
  cwd: string,
): Promise<{ rate: number; p50: number; p99: number; count: number }> {
  const urls = typeof url === 'string' ? [url] : url;
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: agents }, async (_, a) => {
      const at = urls[a % urls.length]!;
      for (let i = 0; performance.now() < until; i++) {
        const t = performance.now();
        const r = await post(`${at}/v1/commands`, token, { command: 'git status', session_id: `bench-${a}`, cwd });
        if (r.status !== 201) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((x, y) => x - y);
  return {
    rate: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    count: latencies.length,
  };
}

/** Requests started at a steady `rate` per second, whatever the answers take (open loop). */
async function openLoop(
  url: string,
  token: string,
  rate: number,
  seconds: number,
  cwd: string,
): Promise<{ count: number; p50: number; p90: number; p99: number; max: number }> {
  const latencies: number[] = [];
  const total = rate * seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    pending.push(
      post(`${url}/v1/commands`, token, { command: 'git status', session_id: `rate-${i % 8}`, cwd }).then((r) => {
        if (r.status !== 201) throw new Error(`submit: ${r.status}`);
        latencies.push(performance.now() - t);
      }),
    );
  }
  await Promise.all(pending);
  latencies.sort((x, y) => x - y);
  return {
    count: latencies.length,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? NaN,
  };
}
