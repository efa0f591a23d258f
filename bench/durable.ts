/**
 * Durable submissions/s with 1, 4 and 16 agents at once, each submitting its next command as
 * soon as the last one is answered: in-process (concurrent `gate.check` on one Gate over a real
 * SQLite file, so group commit can share transactions) and as separate processes each running
 * `policy-gate check`. A submission counts when the check returned, its SUBMITTED and DECIDED
 * events committed (WAL, synchronous=FULL). Baseline: the same file system committing one
 * transaction of two 1 KB rows at a time with bare better-sqlite3. The through-the-server column
 * is filled by `results.section('durable').fill('agents', n, {...})`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { AuditTrail, openGate, resolveLocations, shippedPolicyDir } from '../engine/index.js';
import { percentile, round, type BenchResults } from './results.js';

const require = createRequire(import.meta.url);
export const AGENTS = [1, 4, 16] as const;
const COMMANDS = ['git status', 'ls -la', 'git log --oneline -n 5', 'cat README.md'];

/** Transactions/s of bare SQLite, two ~1 KB rows per transaction, for `seconds`. */
function sqliteBaseline(dir: string, seconds: number): number {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(join(dir, 'baseline.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
    const body = Buffer.alloc(1000, 'x');
    const pair = db.transaction(() => {
      insert.run(body);
      insert.run(body);
    });
    let n = 0;
    const end = performance.now() + seconds * 1000;
    const t = performance.now();
    while (performance.now() < end) {
      pair.immediate();
      n++;
    }
    return n / ((performance.now() - t) / 1000);
  } finally {
    db.close();
  }
}

async function inProcess(dir: string, agents: number, seconds: number) {
  mkdirSync(join(dir, '.policy-gate'), { recursive: true });
  const loc = resolveLocations({
    store: join(dir, '.policy-gate', 'audit.db'),
    policy: shippedPolicyDir(),
    cwd: dir,
    env: {},
  });
  const gate = await openGate(loc, { home: '/home/bench' });
  try {
    for (let i = 0; i < 20; i++) await gate.check({ command: COMMANDS[i % COMMANDS.length]!, cwd: dir, wait: false });
    const trail = (await gate.store()) as AuditTrail;
    const before = { ...trail.commits };
    const latencies: number[] = [];
    const end = performance.now() + seconds * 1000;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: agents }, async (_, a) => {
        for (let i = 0; performance.now() < end; i++) {
          const s = performance.now();
          await gate.check({ command: COMMANDS[i % COMMANDS.length]!, cwd: dir, session: `agent-${a}`, wait: false });
          latencies.push(performance.now() - s);
        }
      }),
    );
    const elapsed = (performance.now() - t) / 1000;
    latencies.sort((x, y) => x - y);
    const transactions = trail.commits.transactions - before.transactions;
    return {
      rate: latencies.length / elapsed,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      writesPerTransaction: (trail.commits.writes - before.writes) / Math.max(1, transactions),
    };
  } finally {
    await gate.close();
  }
}

/** `agents` loops, each running `policy-gate check` one after another, for `seconds`. */
async function separateProcesses(dir: string, bin: string, agents: number, seconds: number): Promise<number> {
  mkdirSync(join(dir, '.policy-gate'), { recursive: true });
  const run = (command: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'check', '--', command], { cwd: dir, stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`check exited ${code}`))));
    });
  await run('git status'); // create the store and the policy cache
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: agents }, async () => {
      for (let i = 0; performance.now() < end; i++) {
        await run(COMMANDS[i % COMMANDS.length]!);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t) / 1000);
}

export async function durableFigures(results: BenchResults, bin: string): Promise<void> {
  const seconds = Number(process.env.BENCH_DURABLE_SECONDS ?? 3);
  const section = results.section('durable', {
    title: `Durable submissions/s (whitelisted checks, ${seconds} s per cell), agents submitting at once`,
    baseline:
      'bare better-sqlite3 on the same disk: one transaction of two 1 KB rows at a time (WAL, synchronous=FULL)',
    target: '≥ 2,000 durable submissions/s',
    columns: [
      'agents',
      'in-process /s',
      'p50 ms',
      'p99 ms',
      'writes per commit',
      'separate processes /s',
      'baseline /s',
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-durable-'));
  try {
    const baseline = sqliteBaseline(dir, Math.min(2, seconds));
    for (const agents of AGENTS) {
      const local = await inProcess(join(dir, `in-${agents}`), agents, seconds);
      const processes = await separateProcesses(join(dir, `proc-${agents}`), bin, agents, seconds);
      section.add({
        agents,
        'in-process /s': Math.round(local.rate),
        'p50 ms': round(local.p50, 2),
        'p99 ms': round(local.p99, 2),
        'writes per commit': round(local.writesPerTransaction, 1),
        'separate processes /s': round(processes, 1),
        'baseline /s': Math.round(baseline),
      });
    }
    section.note('p50/p99: one check from submission to its answer (both events durable), in-process');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
