/**
 * Replicas of a team deployment on one PostgreSQL trail (issue 14): 3 `serve` processes sharing
 * one state directory (key, pinned keys, tokens), 16 agents × 200 submissions over HTTP spread
 * across them, one in ten held and waited for on one replica while reviewers decide it through
 * another (the decision reaches the wait from the trail: the database's NOTIFY, or under load the
 * replica's own next append; once all is quiet, by NOTIFY alone), and one replica killed
 * (SIGKILL) a third of the way through, with held submissions waiting on it.
 *
 * The API lets no client choose a command's id, so an agent whose request the killed replica
 * never answered submits again, elsewhere, as a new submission. What is exact afterwards: every
 * answered submission recorded exactly once, as its answer said; a request that got no answer
 * recorded once or not at all, never twice; one gap-free sequence and one unbroken chain
 * (`verify`); every command decided exactly once — of those left waiting on the killed replica,
 * one by a reviewer through a survivor, the others timed out by the survivors (both sweeping) —
 * and every wait on a surviving replica returned with its reviewer's decision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPg } from '../engine/audit/pg/backend.js';
import { runBin, runCli, tempDir, waitFor } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';
import { reviewPolicyDir } from './review-fixture.js';
import { overHttp, startServer, type Reply, type Served } from './serve-fixture.js';

const REPLICAS = 3;
const AGENTS = 16;
const PER_AGENT = 200;
const TOTAL = AGENTS * PER_AGENT;
/** Every HELD_EVERY-th submission of an agent is held and waited for. */
const HELD_EVERY = 10;
const REVIEWERS = ['dave', 'erin', 'frank'] as const;
/** The replica killed a third of the way through. */
const DOOMED = 2;
const WHITELISTED = ['git status', 'ls -la', 'git log --oneline -5', 'git diff --stat'];
const HELD = 'curl -fsSL https://example.com/install.sh -o /tmp/i.sh';
/** Each attempt says who made it and where it went: the trail's SUBMITTED bodies are matched by it. */
const INTENT = /^agent (\d+) command (\d+) attempt (\d+) via replica (\d+)( \(left to die\))?$/;
/** The deadline of a held submission left to die with its replica (its timeout is the survivors' to record). */
const ORPHAN_TIMEOUT_MS = 20_000;
/** A wait that missed its decision's NOTIFY would end at the next checkpoint, a minute after it began. */
const NOTIFIED_WITHIN_MS = 30_000;

interface Replica {
  readonly index: number;
  readonly served: Served;
  killed: boolean;
}

interface Attempt {
  readonly agent: number;
  readonly n: number;
  readonly replica: number;
  readonly held: boolean;
  readonly intent: string;
  readonly sentAt: number;
  answer?: { command_id: string; outcome: string; decision: string; decided_by: string | null; at: number };
  error?: string;
}

let pg: PgServer;
let url: string;
let policy: string;
const env: Record<string, string> = {};
const tokens = new Map<string, string>();
let replicas: Replica[] = [];

beforeAll(async () => {
  pg = await startPg();
  pg.sql('CREATE DATABASE replicas');
  url = `postgresql://gate@127.0.0.1:${pg.port}/replicas`;
  // the replicas' shared state (a mounted secret or volume in a deployment): one directory here
  env.POLICY_GATE_STATE = tempDir('policy-gate-replicas-state-');
  policy = reviewPolicyDir(
    REVIEWERS.map((id) => ({ id })),
    // decisions on a token alone; no burst or off-hours score, so every answer is as planned
    { 'review.token_decisions': true, 'context.burst.max_commands': 1_000_000, 'context.off_hours.score': 0 },
  );
  // the schema made once, by its owner; and the policy compiled once into the shared cache, as a
  // deployment's first start leaves it (three cold compiles at once take half a minute on a busy machine)
  const [migrated, warm] = await Promise.all([
    runBin(['store', 'migrate', '--store', url], { env }),
    runBin(['assess', '--store', url, '--policy', policy, '--', 'git', 'status'], { env }),
  ]);
  expect(migrated.code, migrated.stderr).toBe(0);
  expect(warm.code, warm.stderr).toBe(0);
  const create = async (name: string, role: string): Promise<void> => {
    const r = await runCli(['serve', 'token', 'create', '--name', name, '--role', role, '--store', url], { env });
    if (r.code !== 0) throw new Error(`token create failed: ${r.stderr}`);
    tokens.set(name, r.stdout.trim());
  };
  for (let a = 0; a < AGENTS; a++) await create(`agent-${a}`, 'agent');
  for (const id of REVIEWERS) await create(id, 'reviewer');
  // started at once: of the replicas that find the new trail, one begins it (each kept as it
  // comes up, for afterAll to stop should another fail to)
  await Promise.all(
    Array.from({ length: REPLICAS }, async (_, index) => {
      const served = await startServer({ store: url, policy, env, args: ['--no-socket', '--rate-limit', '0'] });
      replicas[index] = { index, served, killed: false };
    }),
  );
}, 180_000);

afterAll(async () => {
  // whatever happened: no replica outlives the test, then the server goes
  await Promise.all(
    replicas.filter(Boolean).map(async (r) => {
      if (r.served.child.exitCode === null && r.served.child.signalCode === null) r.served.child.kill('SIGKILL');
      await r.served.stop();
    }),
  );
  pg?.destroy();
}, 60_000);

/** Held command n of an agent is denied one time in four, approved otherwise. */
function decisionFor(n: number): 'approve' | 'deny' {
  return Math.floor(n / HELD_EVERY) % 4 === 3 ? 'deny' : 'approve';
}

describe('PostgreSQL: replicas of a team deployment', () => {
  it(
    `${REPLICAS} serve replicas, ${AGENTS} agents × ${PER_AGENT} submissions, reviewers deciding through ` +
      'other replicas, one replica killed mid-run: every submission once, one chain, every wait returned',
    async () => {
      const attempts: Attempt[] = [];
      let answered = 0;
      let agentsDone = false;
      let stopping = false;
      /**
       * Set a third of the way through until the doomed replica is killed: held submissions sent
       * to it meanwhile are left to die with it (no reviewer decides them before the kill).
       */
      let doomed = false;
      /** Those found in the queue, in order; after the kill the first is decided, the others time out. */
      const orphans: string[] = [];
      let rescue: string | null = null;
      /** Through which replica each command's decision was asked for, and when it was recorded. */
      const decidedVia = new Map<string, number>();
      const decidedAt = new Map<string, number>();
      /** Which reviewer took a command: the others leave it, except one in five all go for at once. */
      const claimed = new Map<string, number>();
      let racesLost = 0;
      let killedAfter = 0;

      const live = (): Replica[] => replicas.filter((r) => !r.killed);

      async function agent(a: number): Promise<void> {
        const token = tokens.get(`agent-${a}`)!;
        for (let n = 0; n < PER_AGENT && !stopping; n++) {
          const held = n % HELD_EVERY === HELD_EVERY - 1;
          let replica = (a + n) % REPLICAS;
          for (let t = 0; ; t++) {
            const orphan = held && doomed && replica === DOOMED;
            const attempt: Attempt = {
              agent: a,
              n,
              replica,
              held,
              intent: `agent ${a} command ${n} attempt ${t} via replica ${replica}${orphan ? ' (left to die)' : ''}`,
              sentAt: performance.now(),
            };
            attempts.push(attempt);
            let reply: Reply;
            try {
              reply = await overHttp(replicas[replica]!.served, 'POST', '/v1/commands', {
                token,
                body: {
                  command: held ? HELD : WHITELISTED[n % WHITELISTED.length]!,
                  session_id: `agent-${a}`,
                  intent: attempt.intent,
                  // longer than any wait should take: a wait that ends is one that was woken
                  ...(held ? { wait: true, timeout_ms: orphan ? ORPHAN_TIMEOUT_MS : 120_000 } : {}),
                },
              });
            } catch (err) {
              // only the killed replica may leave a request unanswered; the agent goes to the next one
              if (!replicas[replica]!.killed) throw err;
              attempt.error = String((err as Error).cause ?? err);
              replica = (replica + 1) % REPLICAS;
              continue;
            }
            if (reply.status !== 201) throw new Error(`${attempt.intent}: HTTP ${reply.status} ${reply.text}`);
            const record = reply.body.record;
            attempt.answer = {
              command_id: record.command_id,
              outcome: reply.body.outcome,
              decision: record.decision,
              decided_by: record.decided_by,
              at: performance.now(),
            };
            answered++;
            break;
          }
        }
      }

      /** Decide one command through a live replica other than the one it was submitted through. */
      async function decide(k: number, id: string, from: number, decision: 'approve' | 'deny'): Promise<void> {
        const token = tokens.get(REVIEWERS[k]!)!;
        for (let turn = k; ; turn++) {
          const others = live().filter((r) => r.index !== from);
          const via = others[turn % others.length]!;
          decidedVia.set(id, via.index);
          try {
            const st = await overHttp(via.served, 'POST', `/v1/commands/${id}/statement`, {
              token,
              body: { decision },
            });
            if (st.status !== 200) throw new Error(`statement for ${id}: HTTP ${st.status} ${st.text}`);
            const r = await overHttp(via.served, 'POST', `/v1/commands/${id}/decision`, {
              token,
              body: { statement: st.body.statement, proof: { kind: 'token' } },
            });
            if (r.status === 200) decidedAt.set(id, performance.now());
            else if (r.status === 409 && r.body?.error?.code === 'already-decided') racesLost++;
            else throw new Error(`decision on ${id} through replica ${via.index}: HTTP ${r.status} ${r.text}`);
            return;
          } catch (err) {
            // the replica died under the request: decided there or not, ask again through another
            if (!via.killed) throw err;
          }
        }
      }

      /** A reviewer reads the queue through the replicas in turn and decides what it finds, until nothing is left. */
      async function reviewer(k: number): Promise<void> {
        const token = tokens.get(REVIEWERS[k]!)!;
        let turn = k;
        await waitFor(
          `reviewer ${REVIEWERS[k]} to find nothing left to decide after the agents`,
          async () => {
            if (stopping) return true;
            const done = agentsDone; // as of before this read of the queue
            const replicasNow = live();
            const via = replicasNow[turn++ % replicasNow.length]!;
            let queue: Reply;
            try {
              queue = await overHttp(via.served, 'GET', '/v1/queue', { token });
            } catch (err) {
              if (via.killed) return false;
              throw err;
            }
            if (queue.status !== 200) throw new Error(`queue: HTTP ${queue.status} ${queue.text}`);
            const items = queue.body.items as { record: { command_id: string; intent: string | null } }[];
            // reviewers go through the queue in different orders
            if (k % 2 === 1) items.reverse();
            let left = 0;
            for (const { record } of items) {
              if (stopping) return true;
              const id = record.command_id;
              const m = INTENT.exec(record.intent ?? '');
              if (!m) throw new Error(`a command in the queue no agent submitted: ${JSON.stringify(record)}`);
              const [from, n] = [Number(m[4]), Number(m[2])];
              if (m[5]) {
                if (!orphans.includes(id)) orphans.push(id);
                if (id !== rescue) continue; // left for the survivors to time out
              }
              left++;
              if (decidedAt.has(id)) continue;
              const contested = Math.floor(n / HELD_EVERY) % 5 === 0;
              if (!contested && (claimed.get(id) ?? k) !== k) continue;
              claimed.set(id, k);
              await decide(k, id, from, decisionFor(n));
            }
            return done && left === 0;
          },
          240_000,
          100,
        );
      }

      /** A third of the way through, with held submissions waiting on it, the doomed replica is killed. */
      async function killer(): Promise<void> {
        await waitFor('a third of the submissions answered', () => answered >= TOTAL / 3 || stopping, 240_000);
        doomed = true;
        // two recorded (the reviewers saw them), their agents waiting on the doomed replica
        await waitFor(`held submissions waiting on replica ${DOOMED}`, () => orphans.length >= 2 || stopping, 60_000);
        const victim = replicas[DOOMED]!;
        victim.killed = true; // before the signal: every failure from here on is the kill's
        victim.served.child.kill('SIGKILL');
        killedAfter = answered;
        doomed = false;
        rescue = orphans[0]!;
      }

      const started = performance.now();
      const work = Promise.all([...Array.from({ length: AGENTS }, (_, a) => agent(a)), killer()]).finally(
        () => (agentsDone = true),
      );
      const reviewing = Promise.all(REVIEWERS.map((_, k) => reviewer(k)));
      try {
        await Promise.all([work, reviewing]);
      } finally {
        stopping = true; // a failure stops every loop
        agentsDone = true;
      }
      const elapsed = performance.now() - started;
      // the orphans nobody decided are timed out by the survivors' sweeps (both try; one records it)
      const pending = (): number =>
        Number(
          pg.sql(
            `SELECT count(*) FROM policy_gate.events s WHERE s.type = 'SUBMITTED' AND NOT EXISTS
               (SELECT 1 FROM policy_gate.events d WHERE d.type = 'DECIDED' AND d.command_id = s.command_id)`,
            'replicas',
          ),
        );
      await waitFor('the orphans timed out by the surviving replicas', () => pending() === 0, 60_000, 250);

      // quiet now: a wait on one survivor learns of a decision made through the other only by the
      // database's NOTIFY (under load, its own replica's next append would have read it too)
      const survivors = live();
      const quiet: number[] = [];
      for (const [waiting, deciding] of [survivors, [...survivors].reverse()] as [Replica, Replica][]) {
        const n = PER_AGENT + quiet.length;
        const intent = `agent 0 command ${n} attempt 0 via replica ${waiting.index}`;
        const attempt: Attempt = { agent: 0, n, replica: waiting.index, held: true, intent, sentAt: performance.now() };
        attempts.push(attempt);
        const reply = overHttp(waiting.served, 'POST', '/v1/commands', {
          token: tokens.get('agent-0')!,
          body: { command: HELD, session_id: 'agent-0', intent, wait: true, timeout_ms: 120_000 },
        });
        const id = await waitFor(`the quiet submission through replica ${waiting.index} in the queue`, async () => {
          const q = await overHttp(deciding.served, 'GET', '/v1/queue', { token: tokens.get(REVIEWERS[0])! });
          const items = q.body.items as { record: { command_id: string; intent: string } }[];
          return items.find((item) => item.record.intent === intent)?.record.command_id;
        });
        await decide(0, id, waiting.index, decisionFor(n));
        const { body } = await reply;
        attempt.answer = {
          command_id: body.record.command_id,
          outcome: body.outcome,
          decision: body.record.decision,
          decided_by: body.record.decided_by,
          at: performance.now(),
        };
        quiet.push(attempt.answer.at - decidedAt.get(id)!);
      }

      // the survivors stop cleanly; the killed one died of its signal
      const victim = replicas[DOOMED]!;
      expect(await victim.served.stop()).toBeNull();
      expect(victim.served.child.signalCode).toBe('SIGKILL');
      expect(await Promise.all(survivors.map((r) => r.served.stop()))).toEqual(survivors.map(() => 0));
      for (const r of survivors) expect(r.served.output().stderr).not.toMatch(/"level":[56]0/); // no error logged

      // ---- the clients' view ---------------------------------------------------------------
      const answers = attempts.filter((x) => x.answer);
      const failures = attempts.filter((x) => x.error !== undefined);
      expect(answers).toHaveLength(TOTAL + quiet.length); // each agent's every command answered once
      expect(new Set(answers.map((x) => `${x.agent}:${x.n}`)).size).toBe(TOTAL + quiet.length);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.every((x) => x.replica === DOOMED)).toBe(true);
      for (const x of answers) {
        if (!x.held)
          expect(x.answer, x.intent).toMatchObject({
            outcome: 'allowed',
            decided_by: expect.stringMatching(/^whitelist/),
          });
        else {
          // woken by its reviewer's decision, never by the timeout
          const expected = decisionFor(x.n) === 'approve' ? 'approved' : 'denied';
          expect(x.answer, x.intent).toMatchObject({ decision: expected });
          expect(REVIEWERS).toContain(x.answer!.decided_by);
          expect(x.intent).not.toMatch(/left to die/);
        }
      }
      // every held wait answered was decided through another replica, and ended soon after: the
      // decision reached it by NOTIFY
      const waits = answers.filter((x) => x.held);
      let slowest = 0;
      let longestWait = 0;
      for (const x of waits) {
        const id = x.answer!.command_id;
        expect(decidedVia.get(id), x.intent).not.toBe(x.replica);
        slowest = Math.max(slowest, x.answer!.at - (decidedAt.get(id) ?? x.answer!.at));
        longestWait = Math.max(longestWait, x.answer!.at - x.sentAt);
      }
      expect(slowest).toBeLessThan(NOTIFIED_WITHIN_MS);
      expect(quiet).toHaveLength(2);

      // ---- the trail's view ------------------------------------------------------------------
      const { Client } = await loadPg();
      const client = new Client({ connectionString: url });
      await client.connect();
      let rows: { seq: string; type: string; command_id: string | null; body: Record<string, any> }[];
      let head: string;
      try {
        rows = (
          await client.query(
            "SELECT seq, type, command_id, convert_from(body, 'UTF8')::jsonb AS body FROM policy_gate.events ORDER BY seq",
          )
        ).rows;
        head = (await client.query<{ seq: string }>('SELECT seq FROM policy_gate.head')).rows[0]!.seq;
      } finally {
        await client.end();
      }
      // one sequence, 1..N without a gap, its head at N; no write failed
      expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
      expect(Number(head)).toBe(rows.length);
      expect(rows.filter((r) => r.type === 'WRITE_FAILED')).toEqual([]);
      // the replicas started at once on the new trail: one of them began it
      expect(rows.filter((r) => r.type === 'GATE_START').map((r) => Number(r.seq))).toEqual([1]);

      const submittedRows = rows.filter((r) => r.type === 'SUBMITTED');
      const decidedRows = rows.filter((r) => r.type === 'DECIDED');
      const tally = (list: typeof rows): Map<string, number> => {
        const m = new Map<string, number>();
        for (const r of list) m.set(r.command_id!, (m.get(r.command_id!) ?? 0) + 1);
        return m;
      };
      const submittedById = tally(submittedRows);
      const decidedById = tally(decidedRows);
      const byIntent = new Map(submittedRows.map((r) => [r.body.intent as string, r]));
      const decisionOf = new Map(decidedRows.map((r) => [r.command_id!, r.body]));
      // every submission in the trail is one attempt of an agent's, each attempt in it at most once
      expect(byIntent.size).toBe(submittedRows.length);
      expect([...submittedById.values()].every((n) => n === 1)).toBe(true);
      const known = new Set(attempts.map((x) => x.intent));
      expect(submittedRows.filter((r) => !known.has(r.body.intent as string))).toEqual([]);
      // every answered submission exactly once, as its answer said
      for (const x of answers) {
        const id = byIntent.get(x.intent)?.command_id;
        expect(id, x.intent).toBe(x.answer!.command_id);
        expect(decisionOf.get(id!)?.decision, x.intent).toBe(x.answer!.decision);
      }
      // a request that got no answer: recorded once (before its replica died) or not at all
      const recordedUnanswered = failures.filter((x) => byIntent.has(x.intent));
      expect(submittedRows.length).toBe(answers.length + recordedUnanswered.length);
      // every command decided exactly once: nothing left pending, no wait left hanging
      expect([...decidedById.values()].every((n) => n === 1)).toBe(true);
      expect([...submittedById.keys()].filter((id) => !decidedById.has(id))).toEqual([]);
      expect(decidedById.size).toBe(submittedById.size);
      // the held submissions left waiting on the killed replica: recorded, their clients told
      // nothing; one decided by a reviewer through a survivor, the others timed out by the survivors
      expect(orphans.length).toBeGreaterThanOrEqual(2);
      const orphaned = attempts.filter((x) => x.intent.endsWith('(left to die)') && byIntent.has(x.intent));
      expect(orphaned.map((x) => byIntent.get(x.intent)!.command_id).sort()).toEqual([...orphans].sort());
      expect(orphaned.every((x) => x.error !== undefined)).toBe(true);
      expect(REVIEWERS).toContain(decisionOf.get(rescue!)!.decided_by);
      expect(decidedVia.get(rescue!)).not.toBe(DOOMED);
      for (const id of orphans.slice(1))
        expect(decisionOf.get(id)).toMatchObject({ decision: 'timed_out', decided_by: 'timeout' });
      // the replicas' submissions interleave in the one sequence
      const via = submittedRows.map((r) => Number(INTENT.exec(r.body.intent as string)![4]));
      expect(via.filter((r, i) => i > 0 && r !== via[i - 1]).length).toBeGreaterThan(TOTAL / 10);

      // the chain is unbroken, every checkpoint signed by the shared key, every decision covered
      const verified = await runBin(['verify', '--store', url, '--policy', policy, '--json'], { env });
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      const byReviewers = decidedRows.filter((r) => (REVIEWERS as readonly string[]).includes(r.body.decided_by));
      expect(JSON.parse(verified.stdout)).toMatchObject({
        ok: true,
        events: rows.length,
        commands: submittedRows.length,
        proofs: { token: byReviewers.length },
      });

      console.info(
        `policy-gate replicas: ${TOTAL} submissions answered in ${(elapsed / 1000).toFixed(1)} s ` +
          `(${((TOTAL / elapsed) * 1000).toFixed(0)}/s), ${rows.length} events; replica ${DOOMED} killed after ` +
          `${killedAfter} answers; ${failures.length} requests unanswered, ${recordedUnanswered.length} of them ` +
          `recorded (${orphans.length} held: 1 decided, ${orphans.length - 1} timed out); ${waits.length} waits, ` +
          `longest ${(longestWait / 1000).toFixed(1)} s, slowest after its decision ${(slowest / 1000).toFixed(2)} s; ` +
          `${racesLost} decisions lost to another reviewer; quiet waits woken ` +
          `${quiet.map((ms) => `${Math.round(ms)} ms`).join(' and ')} after their decisions`,
      );
    },
    300_000,
  );
});
