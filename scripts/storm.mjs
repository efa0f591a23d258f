#!/usr/bin/env node
/**
 * A write storm on one store: WRITERS processes each check COMMANDS commands as fast as they
 * can (the real engine, the shipped policy, a real SQLite file), while KILLS of them are
 * SIGKILLed at random moments and replaced. Every answer a writer gave is printed as it goes,
 * so a killed writer's answers count too. Prints one JSON line:
 *   { writers, submissions, answered, lost, killed, missing, ms }
 * `lost` are submissions refused by the store (a lock timeout, a full disk …): the figure that
 * must be 0. `missing` are answers the trail does not back: no SUBMITTED, or a decision given
 * with no DECIDED.
 *
 *   node scripts/storm.mjs [--writers 16] [--commands 200] [--kills 8] [--store PATH]
 * (run `npm run build` first: the writers use dist/engine)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENGINE = pathToFileURL(join(ROOT, 'dist', 'engine', 'index.js')).href;

if (process.argv[2] === '--writer') {
  // one writer: check commands, print each answer as one line
  const [store, count, tag] = process.argv.slice(3);
  const { openSqliteStore, check, gateSigner, loadPolicy, shippedPolicyDir, systemClock } = await import(ENGINE);
  const policy = await loadPolicy(shippedPolicyDir(), { cacheDir: join(dirname(store), 'cache') });
  const commands = ['git status', 'ls -la', 'git log --oneline -n 5', 'npm test', 'cat README.md'];
  for (let i = 0; i < Number(count); i++) {
    let s;
    try {
      s = openSqliteStore(store, { signer: gateSigner(dirname(store)) });
      const { record } = await check(
        { command: commands[i % commands.length], wait: false, agent: tag },
        { policy, store: s, clock: systemClock() },
      );
      process.stdout.write(`ok ${record.command_id} ${record.decision}\n`);
    } catch (err) {
      process.stdout.write(`lost ${JSON.stringify(String(err?.message ?? err))}\n`);
    } finally {
      await s?.close();
    }
  }
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    writers: { type: 'string', default: '16' },
    commands: { type: 'string', default: '200' },
    kills: { type: 'string', default: '8' },
    store: { type: 'string' },
  },
});
const writers = Number(values.writers);
const perWriter = Number(values.commands);
const kills = Number(values.kills);
const store = values.store ?? join(mkdtempSync(join(tmpdir(), 'policy-gate-storm-')), 'audit.db');

const answered = [];
const lostReasons = [];
let killed = 0;
let started = 0;
const t0 = performance.now();

function startWriter(count) {
  started++;
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), '--writer', store, String(count), `w${started}`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buffered = '';
  let answers = 0;
  child.stdout.on('data', (d) => {
    buffered += d.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      answers++;
      if (line.startsWith('ok ')) {
        const [id, decision] = line.slice(3).split(' ');
        answered.push({ id, decision });
      } else lostReasons.push(line.slice(5));
    }
  });
  return { child, done: new Promise((r) => child.on('close', () => r(answers))), answers: () => answers };
}

// one writer creates the store first, so the storm measures writes, not creation
await startWriter(1).done;
const running = Array.from({ length: writers }, () => startWriter(perWriter));
// kill some at random moments; each is replaced by a writer that does what it had left
const replacements = [];
for (let k = 0; k < kills; k++) {
  const victim = running[Math.floor(Math.random() * running.length)];
  await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));
  if (victim.child.exitCode !== null || victim.child.signalCode !== null) continue;
  victim.child.kill('SIGKILL');
  killed++;
  const left = Math.max(0, perWriter - victim.answers());
  await victim.done;
  if (left > 0) replacements.push(startWriter(left).done);
}
await Promise.all([...running.map((w) => w.done), ...replacements]);
const ms = Math.round(performance.now() - t0);

const { openSqliteStore } = await import(ENGINE);
const s = openSqliteStore(store, { readonly: true });
const all = await s.commands();
const decided = new Set(all.filter((c) => c.decision !== 'pending').map((c) => c.command_id));
const submitted = new Set(all.map((c) => c.command_id));
const submissions = submitted.size;
await s.close();
const missing = answered.filter((a) => !submitted.has(a.id) || (a.decision !== 'pending' && !decided.has(a.id))).length;
const decisions = {};
for (const a of answered) decisions[a.decision] = (decisions[a.decision] ?? 0) + 1;
process.stdout.write(
  `${JSON.stringify({
    writers,
    store,
    submissions,
    answered: answered.length,
    decisions,
    lost: lostReasons.length,
    lost_reasons: [...new Set(lostReasons)].slice(0, 3),
    killed,
    missing,
    ms,
  })}\n`,
);
