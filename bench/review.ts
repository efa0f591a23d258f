/**
 * The review loop: from a reviewer's decision being committed to the waiting `check` process
 * exiting (the issue asks for under 200 ms), and what `exec` adds to `check`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openSqliteStore,
  applyDecision,
  decisionStatement,
  loadPolicy,
  shippedPolicyDir,
  signWithSshKeygen,
  submittedEvent,
  systemClock,
} from '../engine/index.js';
import { median, round, type BenchResults } from './results.js';
import { timeRun } from './startup.js';

export async function reviewFigures(results: BenchResults, bin: string, runs: number): Promise<void> {
  const section = results.section('review', {
    title: 'Review loop and exec',
    baseline: '`policy-gate check -- ls` in the same rounds (for exec); the 200 ms target (for the loop)',
    target: 'decision committed → waiting check exited < 200 ms',
    columns: ['figure', 'runs', 'median ms', 'max ms'],
  });
  const dir = mkdtempSync(join(tmpdir(), 'policy-gate-bench-review-'));
  mkdirSync(join(dir, '.policy-gate')); // the warm-up check below finds it, as the waiting checks are told
  const policyDir = join(dir, 'policies');
  cpSync(shippedPolicyDir(), policyDir, { recursive: true });
  const key = join(dir, 'alice');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  writeFileSync(
    join(policyDir, 'reviewers.yaml'),
    `reviewers:\n  - id: alice\n    name: Alice\n    roles: [reviewer]\n    key: ${readFileSync(`${key}.pub`, 'utf8').trim()}\n`,
  );
  const storePath = join(dir, '.policy-gate', 'audit.db');
  const env = { ...process.env, POLICY_GATE_POLICY: policyDir, POLICY_GATE_STORE: storePath };
  timeRun([bin, 'check', '--', 'git status'], dir); // warm the cache, create the store
  const policy = await loadPolicy(policyDir, { git: false });
  const store = openSqliteStore(storePath);
  const unblock: number[] = [];
  const n = Math.max(5, Math.round(runs / 2));
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [bin, 'check', '--timeout', '60', '--', `npm publish --tag bench-${i}`], {
      cwd: dir,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise<number>((r) => child.on('exit', () => r(performance.now())));
    let id: string | undefined;
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = !id));
    while (!id) {
      if (exitedEarly) throw new Error('the waiting check exited before its command was pending');
      await new Promise((r) => setTimeout(r, 20));
      id = (await store.commands({ decision: 'pending' }))[0]?.command_id;
    }
    const { leaf } = await submittedEvent(store, id);
    const statement = decisionStatement({
      command_id: id,
      submitted_leaf: leaf,
      decision: 'approve',
      reviewer: 'alice',
      reason: null,
      signed_at: new Date().toISOString(),
    });
    const signature = signWithSshKeygen(Buffer.from(statement), key);
    await applyDecision(
      { command_id: id, statement, signature, from: { user: 'bench', host: 'bench' } },
      { policy, store, clock: systemClock() },
    );
    const committed = performance.now();
    unblock.push((await exited) - committed);
  }
  await store.close();
  unblock.sort((a, b) => a - b);
  section.add({
    figure: 'decision committed → waiting check exited',
    runs: n,
    'median ms': round(median(unblock), 1),
    'max ms': round(unblock[unblock.length - 1]!, 1),
  });

  const execSamples: number[] = [];
  const checkSamples: number[] = [];
  for (let i = 0; i < runs; i++) {
    checkSamples.push(timeRun([bin, 'check', '--', 'ls'], dir));
    execSamples.push(timeRun([bin, 'exec', '--', 'ls'], dir));
  }
  for (const [figure, xs] of [
    ['check -- ls (baseline)', checkSamples],
    ['exec -- ls (whitelisted, recorded)', execSamples],
  ] as const) {
    section.add({ figure, runs, 'median ms': round(median(xs), 1), 'max ms': round(Math.max(...xs), 1) });
  }
  rmSync(dir, { recursive: true, force: true });
}
