/**
 * Verify events/s on a large store (1,000,000 events; BENCH_VERIFY_EVENTS to shrink it), as
 * `policy-gate verify` runs it: the integrity check, the chain, the checkpoints and every
 * event's meaning. The store is built once from a real whitelisted check's SUBMITTED and
 * DECIDED events (new ids and times), written through the real trail in large transactions
 * with a signed checkpoint every 50,000 events, and kept under the temp directory for the
 * next run. Baseline: SQLite reading the same rows in C.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import {
  openGate,
  openSqliteStore,
  openStore,
  resolveLocations,
  shippedPolicyDir,
  type DecidedBody,
  type Locations,
  type SubmittedBody,
} from '../engine/index.js';
import { round, type BenchResults } from './results.js';

const require = createRequire(import.meta.url);
const CHECKPOINT_EVERY = 50_000;
const BATCH = 20_000;
/** Bump when the generated store's shape changes, so an old cached store is not reused. */
const STORE_VERSION = 1;

function locationsAt(dir: string): Locations {
  return resolveLocations({
    store: join(dir, '.policy-gate', 'audit.db'),
    policy: shippedPolicyDir(),
    cwd: dir,
    env: {},
  });
}

/** A real whitelisted check's two events, to copy. */
async function template(): Promise<{ submitted: SubmittedBody; decided: DecidedBody }> {
  const dir = join(tmpdir(), `policy-gate-bench-template-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '.policy-gate'), { recursive: true });
  const gate = await openGate(locationsAt(dir), { home: '/home/bench' });
  try {
    const { record } = await gate.check({ command: 'git status', cwd: dir, wait: false });
    const events = await (await gate.store()).commandEvents(record.command_id);
    const submitted = events.find((e) => e.type === 'SUBMITTED')!.body as SubmittedBody;
    const decided = events.find((e) => e.type === 'DECIDED')!.body as DecidedBody;
    return { submitted, decided };
  } finally {
    await gate.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cached store of `events` events (about; whole commands), built when missing. */
export async function verifyStoreFixture(events: number): Promise<{ dir: string; events: number; built: boolean }> {
  const dir = join(tmpdir(), 'policy-gate-bench-verify', `v${STORE_VERSION}-${events}`);
  const done = join(dir, 'complete');
  const loc = locationsAt(dir);
  if (existsSync(done)) {
    // a store cached by an older build: migrated as any store is, by opening it once for writing
    await openSqliteStore(loc.store, { stateDir: loc.state }).close();
    return { dir, events, built: false };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '.policy-gate'), { recursive: true });
  const { submitted, decided } = await template();
  // as the gate creates a store: GATE_START and a signed checkpoint
  const signing = await openStore(loc);
  const bulk = openSqliteStore(loc.store, { stateDir: loc.state });
  const t0 = Date.parse(submitted.submitted_at);
  const latency = decided.review_latency_ms;
  let written = await bulk.eventCount();
  let i = 0;
  while (written < events) {
    const n = Math.min(BATCH, events - written);
    await bulk.atomically(async (tx) => {
      for (let k = 0; k < n; k += 2, i++) {
        const id = `01BENCH${String(i).padStart(19, '0')}`;
        const at = t0 + i * 10;
        const s = await tx.submit({
          ...submitted,
          command_id: id,
          submitted_at: new Date(at).toISOString(),
          ...(submitted.monotonic
            ? { monotonic: { ...submitted.monotonic, ms: submitted.monotonic.ms + i * 10 } }
            : {}),
        });
        await tx.decide({
          ...decided,
          command_id: id,
          submitted_leaf: s.leaf,
          decided_at: new Date(at + latency).toISOString(),
        });
      }
    });
    const before = written;
    written = await bulk.eventCount();
    if (Math.floor(written / CHECKPOINT_EVERY) > Math.floor(before / CHECKPOINT_EVERY) || written >= events)
      await signing.checkpoint(new Date(t0 + i * 10));
    if (written === before) break;
  }
  await bulk.close();
  await signing.close();
  writeFileSync(done, `${written}\n`);
  return { dir, events, built: true };
}

/** Seconds SQLite alone takes over the store: reading every row (the floor of any verify), and its integrity check. */
function sqliteAlone(path: string): { rows: number; scan: number; integrity: number } {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path, { readonly: true });
  try {
    let t = performance.now();
    const { rows } = db
      .prepare('SELECT count(*) AS rows, sum(length(body) + length(leaf) + length(chain)) AS bytes FROM events')
      .get() as { rows: number };
    const scan = (performance.now() - t) / 1000;
    t = performance.now();
    db.pragma('integrity_check(20)');
    return { rows, scan, integrity: (performance.now() - t) / 1000 };
  } finally {
    db.close();
  }
}

export async function verifyFigures(results: BenchResults): Promise<void> {
  const wanted = Number(process.env.BENCH_VERIFY_EVENTS ?? 1_000_000);
  const section = results.section('verify', {
    title: `Verify: events/s over a store of ${wanted.toLocaleString('en-US')} events`,
    baseline: 'SQLite reading the same rows in C (count and sum of the bytes of every row)',
    target: '≥ 200,000 events/s',
    columns: ['run', 'events', 'seconds', 'events/s', 'vs baseline'],
  });
  const t = performance.now();
  const fixture = await verifyStoreFixture(wanted);
  const loc = locationsAt(fixture.dir);
  if (fixture.built)
    section.note(`store built in ${((performance.now() - t) / 1000).toFixed(1)} s (cached for the next run)`);
  const alone = sqliteAlone(loc.store);
  const scan = alone.rows / alone.scan;
  section.add({
    run: 'SQLite scan (baseline)',
    events: alone.rows,
    seconds: round(alone.scan),
    'events/s': Math.round(scan),
    'vs baseline': 1,
  });
  section.add({
    run: 'PRAGMA integrity_check alone (verify runs it first)',
    events: alone.rows,
    seconds: round(alone.integrity),
    'events/s': Math.round(alone.rows / alone.integrity),
    'vs baseline': round(alone.scan / alone.integrity, 3),
  });
  const gate = await openGate(loc, { home: '/home/bench' });
  try {
    const runs = Number(process.env.BENCH_VERIFY_RUNS ?? 1);
    for (let run = 1; run <= runs; run++) {
      const started = performance.now();
      const result = await gate.verify();
      const seconds = (performance.now() - started) / 1000;
      if (!result.ok) throw new Error(`bench: the generated store does not verify: ${result.failure?.message}`);
      const rate = result.events / seconds;
      section.add({
        run: `policy-gate verify (run ${run} of ${runs})`,
        events: result.events,
        seconds: round(seconds),
        'events/s': Math.round(rate),
        'vs baseline': round(rate / scan, 3),
      });
    }
  } finally {
    await gate.close();
  }
  section.note(`peak RSS of the bench process so far: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
}
