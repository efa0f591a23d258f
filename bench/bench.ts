/**
 * Performance benchmark (npm run bench). Not a test: the machines are shared and noisy, so the
 * figures are medians of interleaved runs or rates over seconds, each printed with the baseline
 * it was measured against in the same run, and written to bench/results/latest.{json,md}.
 *
 *   startup     CLI start-up against `node -e 0` (ratio, peak RSS)
 *   assessment  in-process assessments/s against tree-sitter-bash parses/s, same commands
 *   durable     durable submissions/s at 1, 4, 16 agents, in-process and as separate processes
 *   verify      verify events/s on a 1,000,000-event store (BENCH_VERIFY_EVENTS, BENCH_VERIFY_RUNS)
 *   server      through a resident gate: thin-client start-up, durable submissions/s, latency at 200/s
 *   review      reviewer's decision → waiting check exits; what exec adds to check
 *   team        replicas on one store, PostgreSQL next to SQLite (bench/team.ts; a throwaway
 *               PostgreSQL cluster, its figures skipped with a note when PostgreSQL is not
 *               installed): durable submissions/s at 1, 4, 16 agents through 1 and 3 `serve`
 *               replicas (BENCH_TEAM_SECONDS per cell, 3); decision-to-unblock latency across
 *               replicas, held on one and approved on another (p50/p99, BENCH_TEAM_ROUNDS, 50);
 *               verify events/s reading from PostgreSQL next to SQLite (BENCH_TEAM_VERIFY_EVENTS,
 *               200,000). Sections team, team-unblock, team-verify
 *
 * BENCH_ONLY=verify,durable runs only those sections (and writes only them). Figures measured
 * through the server join these sections by id (see results.ts).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assessmentFigures } from './assessment.js';
import { durableFigures } from './durable.js';
import { BenchResults } from './results.js';
import { reviewFigures } from './review.js';
import { serverFigures } from './server.js';
import { startupFigures } from './startup.js';
import { teamFigures } from './team.js';
import { verifyFigures } from './verify-rate.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'bin', 'policy-gate.js');
const stub = join(root, 'dist', 'bin', 'policy-gate.cjs');
const runs = Number(process.env.BENCH_RUNS ?? 25);
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());

const suites: [string, (results: BenchResults) => Promise<void> | void][] = [
  ['startup', (r) => startupFigures(r, bin, runs)],
  ['assessment', (r) => assessmentFigures(r, root)],
  ['durable', (r) => durableFigures(r, bin)],
  ['server', (r) => serverFigures(r, bin, stub, runs)],
  ['verify', (r) => verifyFigures(r)],
  ['review', (r) => reviewFigures(r, bin, runs)],
  ['team', (r) => teamFigures(r, bin)],
];

const results = new BenchResults();
for (const [id, run] of suites) {
  if (only && !only.includes(id)) continue;
  const before = new Set(results.ids());
  await run(results);
  // the suite's own section, and any other it created (team: team-unblock, team-verify)
  for (const s of results.ids()) if (s === id || !before.has(s)) results.print(s);
}
const out = join(root, 'bench', 'results');
results.write(out);
console.log(`\nwritten to ${join(out, 'latest.json')} and latest.md`);
