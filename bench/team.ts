/**
 * A team on one trail: several `policy-gate serve` replicas sharing one store, PostgreSQL next to
 * SQLite (several serve processes on one SQLite file: the same comparison without a database
 * server). The replicas of a store share its state directory (gate key, pinned keys, tokens) and
 * each listens on a socket of its own. One throwaway PostgreSQL cluster (bench/pg-cluster.ts)
 * holds every PostgreSQL trail; when PostgreSQL is not installed or does not start, those cells
 * are left empty with a note saying why.
 *
 *   team          durable submissions/s at 1, 4, 16 agents through 1 and through 3 replicas
 *                 (agents spread round-robin): whitelisted `git status` over HTTP keep-alive, each
 *                 agent waiting for its answer, BENCH_TEAM_SECONDS per cell (3)
 *   team-unblock  a held command waiting on replica A (wait: true), approved with a reviewer's
 *                 token on replica B: from the decision's answer to the waiting submission's,
 *                 p50/p99 over BENCH_TEAM_ROUNDS rounds (50), the decision 0–250 ms after the
 *                 command is queued. A PostgreSQL replica is woken by NOTIFY; a SQLite one reads
 *                 the file every 250 ms while someone waits
 *   team-verify   `policy-gate verify` events/s over one trail of BENCH_TEAM_VERIFY_EVENTS events
 *                 (200,000; the verify section's generated store, copied to PostgreSQL with
 *                 `policy-gate store copy`), reading from PostgreSQL and from SQLite
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openGate,
  openStoreForReading,
  resolveLocations,
  shippedPolicyDir,
  trustedKeys,
  verifyStore,
  type VerifyResult,
} from '../engine/index.js';
import { pgBinDir, startPg, type PgServer } from './pg-cluster.js';
import { round, type BenchResults, type Row } from './results.js';
import { closedLoop } from './server.js';
import { get, percentile, post, startBenchServer, tokenDecisionPolicy, type BenchServer } from './serve-process.js';
import { verifyStoreFixture } from './verify-rate.js';

const AGENTS = [1, 4, 16] as const;
const REPLICAS = [1, 3] as const;
const HELD = 'curl -fsSL https://example.com/install.sh -o /tmp/i.sh';
const REVIEWER = 'rita';

interface Backend {
  /** 'SQLite' or 'PostgreSQL', as the columns name it. */
  readonly name: string;
  /** For socket names. */
  readonly id: string;
  /** A SQLite path or a postgres:// URL. */
  readonly store: string;
  readonly env: NodeJS.ProcessEnv;
}

interface Unblock {
  /** The decision's answer (replica B) → the waiting submission's answer (replica A), ms. */
  readonly afterAnswer: number[];
  /** The decision request sent → the waiting submission's answer, ms. */
  readonly afterRequest: number[];
  /** The decision request itself (statement excluded), ms. */
  readonly decide: number[];
}

const column = (b: string, replicas: number, what: string): string =>
  `${b}, ${replicas} replica${replicas === 1 ? '' : 's'} ${what}`;

/** The environment of the bench's processes: no POLICY_GATE_* of the caller's leaks in. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('POLICY_GATE_')) env[k] = v;
  return { ...env, ...extra };
}

function cli(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): string {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`policy-gate ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A database of its own on the cluster, as a URL the gate takes. */
function database(pg: PgServer, name: string): string {
  pg.sql(`CREATE DATABASE ${name}`);
  const url = new URL(pg.url);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function teamFigures(results: BenchResults, bin: string): Promise<void> {
  const seconds = Number(process.env.BENCH_TEAM_SECONDS ?? 3);
  const rounds = Number(process.env.BENCH_TEAM_ROUNDS ?? 50);
  const verifyEvents = Number(process.env.BENCH_TEAM_VERIFY_EVENTS ?? 200_000);
  const durable = results.section('team', {
    title: `Replicas on one store: durable submissions/s (whitelisted checks over HTTP, ${seconds} s per cell)`,
    baseline: 'SQLite: the same number of serve processes on one SQLite file, in the same run',
    columns: [
      'agents',
      ...['SQLite', 'PostgreSQL'].flatMap((b) => REPLICAS.map((n) => column(b, n, '/s'))),
      ...['SQLite', 'PostgreSQL'].flatMap((b) => REPLICAS.map((n) => column(b, n, 'p99 ms'))),
    ],
  });
  const unblock = results.section('team-unblock', {
    title: `Decision to unblock across replicas: held on replica A, approved on replica B (${rounds} rounds)`,
    baseline: 'SQLite: replica A reads the shared file every 250 ms while a submission waits',
    columns: ['store', 'rounds', 'p50 ms', 'p99 ms', 'max ms', 'from request p50 ms', 'decision request p50 ms'],
  });
  const verify = results.section('team-verify', {
    title: `Verify events/s reading one trail of ${verifyEvents.toLocaleString('en-US')} events from each store`,
    baseline: '`policy-gate verify` reading the same trail from SQLite',
    columns: ['store', 'events', 'seconds', 'events/s', 'vs SQLite', 'CLI process s'],
  });

  const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-team-'));
  let pg: PgServer | null = null;
  // interrupted: the cluster is a server of its own, not a child the terminal's signal stops
  const interrupted = (signal: NodeJS.Signals): void => {
    pg?.destroy();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    const policy = tokenDecisionPolicy(shippedPolicyDir(), dir, REVIEWER);
    let noPg: string | null = null;
    if (pgBinDir() === null)
      noPg = 'PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH)';
    else {
      try {
        pg = await startPg();
      } catch (err) {
        noPg = `PostgreSQL did not start: ${(err as Error).message.split('\n')[0]}`;
      }
    }

    mkdirSync(join(dir, 'sqlite', '.policy-gate'), { recursive: true });
    const backends: Backend[] = [
      { name: 'SQLite', id: 'sq', store: join(dir, 'sqlite', '.policy-gate', 'audit.db'), env: childEnv() },
    ];
    if (pg) {
      const env = childEnv({ POLICY_GATE_STATE: join(dir, 'pg-state') });
      const store = database(pg, 'team');
      cli(bin, ['store', 'migrate', '--store', store], env, dir);
      backends.push({ name: 'PostgreSQL', id: 'pg', store, env });
    }

    for (const backend of backends) {
      const figures = await replicaFigures(bin, dir, policy, backend, seconds, rounds);
      for (const [n, byAgents] of figures.durable)
        for (const [agents, r] of byAgents)
          durable.fill('agents', agents, {
            [column(backend.name, n, '/s')]: Math.round(r.rate),
            [column(backend.name, n, 'p99 ms')]: round(r.p99, 1),
          });
      const u = figures.unblock;
      const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
      const after = sorted(u.afterAnswer);
      unblock.add({
        store: `${backend.name}${backend.name === 'PostgreSQL' ? ' (LISTEN/NOTIFY)' : ' (250 ms read)'}`,
        rounds: after.length,
        'p50 ms': round(percentile(after, 0.5), 1),
        'p99 ms': round(percentile(after, 0.99), 1),
        'max ms': round(after[after.length - 1]!, 1),
        'from request p50 ms': round(percentile(sorted(u.afterRequest), 0.5), 1),
        'decision request p50 ms': round(percentile(sorted(u.decide), 0.5), 1),
      });
    }
    if (noPg) {
      for (const s of [durable, unblock, verify]) s.note(`${noPg}: the PostgreSQL figures are skipped`);
      unblock.add({ store: 'PostgreSQL (LISTEN/NOTIFY)' });
    }
    durable.note(
      'agents spread round-robin over the replicas; each replica a `policy-gate serve` process; ' +
        'one HTTP keep-alive client process for all agents',
    );
    durable.note(
      `${cpus().length} CPUs shared by the client, every replica and the database: more replicas add no ` +
        'CPU here, the 3-replica columns show what sharing one store costs',
    );
    durable.note(
      'PostgreSQL: a local cluster on the same machine (fsync and synchronous_commit on), every replica ' +
        'connected over loopback TCP; SQLite: WAL, synchronous=FULL, the replicas sharing the file',
    );
    unblock.note(
      'p50/p99/max: the decision request answered (on B) → the submission waiting on A answered; it can be ' +
        'negative when A is woken before B has answered (B signs a checkpoint after the decision)',
    );

    await verifyFigures(verify, bin, dir, pg, verifyEvents);
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    pg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Loop = Awaited<ReturnType<typeof closedLoop>>;

/** One store: 1 replica, then 3 (the first and two more), then the unblock rounds across two. */
async function replicaFigures(
  bin: string,
  dir: string,
  policy: string,
  backend: Backend,
  seconds: number,
  rounds: number,
): Promise<{ durable: Map<number, Map<number, Loop>>; unblock: Unblock }> {
  const servers: BenchServer[] = [];
  const start = (i: number) =>
    startBenchServer(bin, dir, {
      policy,
      store: backend.store,
      env: backend.env,
      socket: join(dir, `${backend.id}-${i}.sock`),
    });
  try {
    servers.push(await start(0));
    const agent = servers[0]!.token('bench-agent', 'agent');
    const reviewer = servers[0]!.token(REVIEWER, 'reviewer');
    const durable = new Map<number, Map<number, Loop>>();
    for (const n of REPLICAS) {
      // an idle replica still reads what the others append: only the replicas measured run
      const started = await Promise.allSettled(
        Array.from({ length: n - servers.length }, (_, k) => start(servers.length + k)),
      );
      for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      const urls = servers.slice(0, n).map((s) => s.url);
      await closedLoop(urls, agent, urls.length * 2, 1, dir); // warm every replica (JIT, pools)
      const byAgents = new Map<number, Loop>();
      for (const agents of AGENTS) byAgents.set(agents, await closedLoop(urls, agent, agents, seconds, dir));
      durable.set(n, byAgents);
    }
    const unblock = await unblockRounds(servers[0]!, servers[1]!, agent, reviewer, rounds, dir);
    return { durable, unblock };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Held on `a` with wait, found in `b`'s queue, approved on `b` with the reviewer's token. */
async function unblockRounds(
  a: BenchServer,
  b: BenchServer,
  agent: string,
  reviewer: string,
  rounds: number,
  cwd: string,
): Promise<Unblock> {
  const out: Unblock = { afterAnswer: [], afterRequest: [], decide: [] };
  for (let i = -3; i < rounds; i++) {
    // three rounds to warm up, not counted
    const command = `${HELD}  # team bench ${process.pid} round ${i}`;
    const waiting = post(`${a.url}/v1/commands`, agent, {
      command,
      session_id: `team-unblock-${i}`,
      cwd,
      wait: true,
      timeout_ms: 120_000,
    }).then((r) => ({ r, at: performance.now() }));
    let id: string | undefined;
    const deadline = performance.now() + 30_000;
    while (!id) {
      const q = await get(`${b.url}/v1/queue`, reviewer);
      if (q.status !== 200) throw new Error(`queue: ${q.status} ${JSON.stringify(q.body)}`);
      id = (q.body.items as { record: { command_id: string; command: string } }[]).find(
        (v) => v.record.command === command,
      )?.record.command_id;
      if (id) break;
      if (performance.now() > deadline) throw new Error(`bench: ${command} never reached replica B's queue`);
      await new Promise((r) => setTimeout(r, 5));
    }
    // a reviewer decides at any moment, not in step with SQLite's 250 ms read: 0–250 ms spread evenly
    await new Promise((r) => setTimeout(r, (((i + 3) * 0.618034) % 1) * 250));
    const st = await post(`${b.url}/v1/commands/${id}/statement`, reviewer, { decision: 'approve', reason: 'bench' });
    if (st.status !== 200) throw new Error(`statement: ${st.status} ${JSON.stringify(st.body)}`);
    const sent = performance.now();
    const d = await post(`${b.url}/v1/commands/${id}/decision`, reviewer, {
      statement: st.body.statement,
      proof: { kind: 'token' },
    });
    const answered = performance.now();
    if (d.status !== 200) throw new Error(`decision: ${d.status} ${JSON.stringify(d.body)}`);
    const { r, at } = await waiting;
    if (r.status !== 201 || r.body.record?.decision !== 'approved')
      throw new Error(`the waiting submission answered ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    if (i < 0) continue;
    out.afterAnswer.push(at - answered);
    out.afterRequest.push(at - sent);
    out.decide.push(answered - sent);
  }
  return out;
}

interface Verified {
  readonly events: number;
  /** verifyStore over the store, in this process. */
  readonly seconds: number;
  /** The whole `policy-gate verify --store … --json` process, start-up included. */
  readonly process: number;
}

/** A SQLite trail of a few whitelisted checks under the shipped policy, in `dir`. */
async function smallTrail(dir: string): Promise<string> {
  mkdirSync(join(dir, '.policy-gate'), { recursive: true });
  const store = join(dir, '.policy-gate', 'audit.db');
  const gate = await openGate(resolveLocations({ store, policy: shippedPolicyDir(), cwd: dir, env: {} }), {
    home: '/home/bench',
  });
  try {
    for (let i = 0; i < 20; i++) await gate.check({ command: 'git status', cwd: dir, wait: false });
  } finally {
    await gate.close();
  }
  return store;
}

/** The store verified in this process, as `policy-gate verify` does it (the seconds verifyStore took). */
async function verifyHere(store: string, env: NodeJS.ProcessEnv, cwd: string): Promise<[VerifyResult, number]> {
  const loc = resolveLocations({ store, policy: shippedPolicyDir(), cwd, env });
  const reader = await openStoreForReading(loc);
  try {
    const t = performance.now();
    const result = await verifyStore(reader, loc.policy, { keys: trustedKeys(loc.state), stateDir: loc.state });
    if (!result.ok) throw new Error(`bench: ${store} does not verify: ${result.failure?.message}`);
    return [result, (performance.now() - t) / 1000];
  } finally {
    await reader.close();
  }
}

/** The trail verified in this process and as the CLI. */
async function timedVerify(bin: string, store: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Verified> {
  const [result, seconds] = await verifyHere(store, env, cwd);
  const t = performance.now();
  const out = cli(bin, ['verify', '--store', store, '--json'], env, cwd);
  const process = (performance.now() - t) / 1000;
  const cliResult = JSON.parse(out) as { ok: boolean; events: number };
  if (!cliResult.ok || cliResult.events !== result.events)
    throw new Error(`bench: policy-gate verify --store ${store}: ${out.slice(0, 500)}`);
  return { events: result.events, seconds, process };
}

async function verifyFigures(
  section: ReturnType<BenchResults['section']>,
  bin: string,
  dir: string,
  pg: PgServer | null,
  wanted: number,
): Promise<void> {
  // the first verify in a process also compiles the code and the policy: on neither store's clock
  await verifyHere(await smallTrail(join(dir, 'warm')), childEnv(), dir);
  let t = performance.now();
  const fixture = await verifyStoreFixture(wanted);
  if (fixture.built)
    section.note(`SQLite trail built in ${((performance.now() - t) / 1000).toFixed(1)} s (cached for the next run)`);
  const sqlite = join(fixture.dir, '.policy-gate', 'audit.db');
  let pgRun: Verified | null = null;
  let copy: { events: number; seconds: number } | null = null;
  if (pg) {
    const env = childEnv({ POLICY_GATE_STATE: join(dir, 'pg-verify-state') });
    const store = database(pg, 'verify');
    t = performance.now();
    const copied = JSON.parse(
      cli(bin, ['store', 'copy', '--from', `sqlite:${sqlite}`, '--to', store, '--json'], env, dir),
    ) as { copied: number };
    copy = { events: copied.copied, seconds: (performance.now() - t) / 1000 };
    pgRun = await timedVerify(bin, store, env, dir);
  }
  const sq = await timedVerify(bin, `sqlite:${sqlite}`, childEnv(), dir);
  const rate = (r: { events: number; seconds: number }) => r.events / r.seconds;
  const row = (name: string, r: Verified | null): Row =>
    r
      ? {
          store: name,
          events: r.events,
          seconds: round(r.seconds),
          'events/s': Math.round(rate(r)),
          'vs SQLite': round(rate(r) / rate(sq), 2),
          'CLI process s': round(r.process),
        }
      : { store: name };
  section.add(row('SQLite (baseline)', sq));
  section.add(row('PostgreSQL', pgRun));
  if (copy)
    section.add({
      store: 'store copy SQLite → PostgreSQL (for comparison)',
      events: copy.events,
      seconds: round(copy.seconds),
      'events/s': Math.round(rate(copy)),
    });
  section.note(
    'seconds, events/s: verifyStore in the bench process, as `policy-gate verify` runs it (policy and ' +
      'checkpoints included); CLI process s: the whole `policy-gate verify --store … --json` process',
  );
}
