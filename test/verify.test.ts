/**
 * `verify` and `checkpoint export` on stores written by the real bin: no false alarm on a trail
 * agents and reviewers wrote, tampering named by sequence number, truncation caught against a
 * checkpoint kept elsewhere, and a crash test with processes killed mid-write.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { openSqliteStore, parseCheckpoint, parseVerifierKey, type StoredEvent } from '../engine/index.js';
import { verifierKeyText } from '../engine/audit/checkpoint.js';
import { BIN, runBin, tempDir } from './helpers.js';
import { ALICE, BOB, keyFor, reviewPolicyDir } from './review-fixture.js';

function setup() {
  const cwd = tempDir();
  const store = join(cwd, '.policy-gate', 'audit.db');
  const env = { POLICY_GATE_POLICY: reviewPolicyDir([ALICE, BOB]), POLICY_GATE_STORE: store };
  const bin = (args: string[], stdin?: string) => runBin(args, { cwd, env, ...(stdin === undefined ? {} : { stdin }) });
  return { cwd, store, env, bin };
}

/**
 * Change the store as a careful attacker would: drop the append-only triggers, make the change,
 * and put the triggers back exactly as they were (so the schema looks untouched).
 */
function tamper(store: string, sql: string, ...args: unknown[]): void {
  const db = new Database(store);
  const triggers = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'").all() as {
    name: string;
    sql: string;
  }[];
  for (const t of triggers) db.exec(`DROP TRIGGER ${t.name}`);
  db.prepare(sql).run(...args);
  for (const t of triggers) db.exec(t.sql);
  db.close();
}

/** Every event of the store, read through a read-only store. */
async function storedEvents(store: string): Promise<StoredEvent[]> {
  const s = openSqliteStore(store, { readonly: true });
  try {
    return await s.events();
  } finally {
    await s.close();
  }
}

async function trail(t: ReturnType<typeof setup>): Promise<string> {
  expect((await t.bin(['check', '--', 'git status'])).code).toBe(0);
  expect((await t.bin(['check', '--', 'rm -rf /'])).code).toBe(1);
  expect((await t.bin(['exec', '--', 'ls'])).code).toBe(0);
  const pending = await t.bin(['check', '--json', '--no-wait', '--agent', 'codex', '--', 'npm publish']);
  const id = JSON.parse(pending.stdout).command_id as string;
  expect((await t.bin(['review', 'approve', id, '--reviewer', 'alice', '--key', keyFor('alice').file])).code).toBe(0);
  expect((await t.bin(['review', 'approve', id, '--reviewer', 'bob'])).code).toBe(1); // refused, recorded
  return id;
}

describe('verify', () => {
  it('a trail written by agents and reviewers verifies; the gate key is 0400 and pinned', async () => {
    const t = setup();
    await trail(t);
    const r = await t.bin(['verify', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ ok: true, failure: null, commands: 4, recordings: 1 });
    expect(result.checkpoints).toBeGreaterThanOrEqual(4);
    const dir = join(t.cwd, '.policy-gate');
    expect(statSync(join(dir, 'gate.key')).mode & 0o777).toBe(0o400);
    expect(readFileSync(join(dir, 'trusted-keys'), 'utf8')).toMatch(
      /^policy-gate\.\S+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/,
    );
    const human = await t.bin(['verify']);
    expect(human.stdout).toMatch(/^VERIFIED {2}\d+ events, 4 commands/);
  });

  it('names the first changed event and exits 4', async () => {
    const t = setup();
    await trail(t);
    const seq = (await storedEvents(t.store)).find(
      (e) => e.type === 'SUBMITTED' && (e.body as { command: string }).command === 'rm -rf /',
    )!.seq;
    tamper(
      t.store,
      "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'rm -rf /', 'rm -rf .') AS BLOB) WHERE seq = ?",
      seq,
    );
    const r = await t.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(new RegExp(`^FAILED {2}hash at event #${seq}: `));
    const json = JSON.parse((await t.bin(['verify', '--json'])).stdout);
    expect(json).toMatchObject({ ok: false, failure: { seq, check: 'hash' } });
  });

  it('a deleted row is named', async () => {
    const t = setup();
    await trail(t);
    tamper(t.store, 'DELETE FROM events WHERE seq = 2');
    const r = await t.bin(['verify']);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/structure at event #2: event #2 is missing/);
  });

  it('truncation is caught against a checkpoint exported earlier, even when re-signed with the gate key', async () => {
    const t = setup();
    await trail(t);
    const kept = join(tempDir(), 'checkpoint.txt');
    const exported = await t.bin(['checkpoint', 'export', '--to', kept]);
    expect(exported.code, exported.stderr).toBe(0);
    const cp = parseCheckpoint(readFileSync(kept, 'utf8'));
    const fine = await t.bin(['verify', '--against', kept]);
    expect(fine.code, fine.stdout + fine.stderr).toBe(0);
    // the attacker holds the gate's key: drops the last events and their checkpoints, signs anew
    tamper(t.store, 'DELETE FROM events WHERE seq > ?', cp.size - 2);
    tamper(t.store, 'DELETE FROM checkpoints WHERE size > ?', cp.size - 2);
    const resign = await t.bin(['checkpoint', 'export']);
    expect(resign.code, resign.stderr).toBe(0);
    expect((await t.bin(['verify'])).code).toBe(0); // consistent on its own
    const r = await t.bin(['verify', '--against', kept]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(
      /against at event #\d+: the trail has \d+ events but the checkpoint given with --against covers \d+: it was truncated or rolled back/,
    );
  });

  it('checkpoint export --exec hands the checkpoint to a command; a failing command fails the export', async () => {
    const t = setup();
    await trail(t);
    const out = join(tempDir(), 'pushed.txt');
    expect((await t.bin(['checkpoint', 'export', '--exec', `cat > ${out}`])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(
      /^policy-gate\/[0-9a-f]{16}\n\d+\n[A-Za-z0-9+/]+=*\n\n\u2014 policy-gate\.\S+ [A-Za-z0-9+/]+=*\n$/,
    );
    const failing = await t.bin(['checkpoint', 'export', '--exec', 'exit 3']);
    expect(failing.code).toBe(2);
    expect(failing.stderr).toMatch(/the export command failed \(exit 3\)/);
  });
});

describe('the gate’s own events', () => {
  it('a new store begins with GATE_START; a failed write is recorded as WRITE_FAILED by the next writer', async () => {
    const t = setup();
    expect((await t.bin(['check', '--', 'git status'])).code).toBe(0);
    // another process holds the write lock past the lock timeout: the submission fails
    const holder = new Database(t.store);
    holder.exec('BEGIN IMMEDIATE');
    let failed;
    try {
      failed = await runBin(['check', '--', 'ls -la'], {
        cwd: t.cwd,
        env: { ...t.env, POLICY_GATE_LOCK_TIMEOUT: '0.3' },
      });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/not recorded|cannot/);
    expect((await t.bin(['check', '--', 'ls'])).code).toBe(0);
    const events = await storedEvents(t.store);
    expect(events[0]!.body).toMatchObject({ type: 'GATE_START', component: 'store', command_id: null });
    const written = events.find((e) => e.type === 'WRITE_FAILED');
    expect(written?.body).toMatchObject({ event_type: 'SUBMITTED', error: expect.stringMatching(/locked|busy/i) });
    expect((await t.bin(['verify'])).code).toBe(0);
  });

  it('key rotation: signed by both keys, old checkpoints still verify, the old pin alone suffices', async () => {
    const t = setup();
    await trail(t);
    const oldPin = join(tempDir(), 'pinned-keys');
    writeFileSync(oldPin, readFileSync(join(t.cwd, '.policy-gate', 'trusted-keys')));
    const rotated = await t.bin(['checkpoint', 'rotate-key']);
    expect(rotated.code, rotated.stderr).toBe(0);
    await t.bin(['check', '--', 'git status']);
    const r = await t.bin(['verify', '--json', '--trusted-keys', oldPin]);
    expect(r.code, r.stdout).toBe(0);
    // a rotation only the new key signed is not trusted
    const rotation = (await storedEvents(t.store)).find((e) => e.type === 'KEY_ROTATED')!;
    const body = rotation.body as unknown as { old_signature: string; new_signature: string };
    tamper(
      t.store,
      'UPDATE events SET body = CAST(replace(CAST(body AS TEXT), ?, ?) AS BLOB) WHERE seq = ?',
      body.old_signature,
      body.new_signature,
      rotation.seq,
    );
    const bad = await t.bin(['verify', '--json', '--trusted-keys', oldPin]);
    expect(bad.code).toBe(4);
  });
});

describe('export', () => {
  it('jsonl: one line per event with its hashes and body; csv: one row per command, formulas defused', async () => {
    const t = setup();
    await trail(t);
    await t.bin(['check', '--no-wait', '--', '=cmd|calc']);
    const jsonl = await t.bin(['audit', 'export', '--format', 'jsonl']);
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const events = await storedEvents(t.store);
    expect(lines.map((l) => l.seq)).toEqual(events.map((e) => e.seq));
    expect(lines.map((l) => [l.type, l.leaf, l.chain, l.body])).toEqual(
      events.map((e) => [e.type, e.leaf, e.chain, e.body]),
    );
    const later = await t.bin(['audit', 'export', '--format', 'jsonl', '--from', events[3]!.at]);
    expect(later.stdout.trim().split('\n').length).toBeLessThan(lines.length);
    const csv = await t.bin(['audit', 'export', '--format', 'csv']);
    const rows = csv.stdout.trim().split('\r\n');
    expect(rows[0]).toBe(
      'command_id,submitted_at,session_id,agent,cwd,intent,command,risk_score,risk_level,top_rules,' +
        'decision,decided_by,decided_at,review_latency_ms,reason,policy_revision,started_at,ended_at,exit_code,recording_sha256',
    );
    expect(rows).toHaveLength(6);
    expect(rows.find((r) => r.includes('npm publish'))).toMatch(/,approved,alice,/);
    expect(rows[5]).toContain(`"'=cmd|calc"`);
  });

  it('a bundle verifies on another machine without the store; a changed byte in it does not', async () => {
    const t = setup();
    await trail(t);
    const elsewhere = tempDir();
    const bundle = join(elsewhere, 'evidence.json');
    expect((await t.bin(['audit', 'export', '--bundle', bundle])).code).toBe(0);
    const kept = join(elsewhere, 'checkpoint.txt');
    expect((await t.bin(['checkpoint', 'export', '--to', kept])).code).toBe(0);
    const check = (file: string) =>
      runBin(['verify', '--json', '--bundle', file, '--against', kept], { cwd: elsewhere });
    const ok = await check(bundle);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, commands: 4, recordings: 1 });
    expect(existsSync(join(elsewhere, '.policy-gate'))).toBe(false);
    const doc = JSON.parse(readFileSync(bundle, 'utf8'));
    const bytes = Buffer.from(doc.events[2].bytes, 'base64');
    bytes[10] = bytes[10]! ^ 1;
    doc.events[2].bytes = bytes.toString('base64');
    const changed = join(elsewhere, 'changed.json');
    writeFileSync(changed, JSON.stringify(doc));
    const bad = await check(changed);
    expect(bad.code).toBe(4);
    expect(JSON.parse(bad.stdout).failure).toMatchObject({ seq: 3, check: 'hash' });
  });
});

describe('checkpoint keys', () => {
  it('verifier keys round-trip, whatever characters their base64 holds', () => {
    for (let i = 0; i < 64; i++) {
      const { publicKey } = generateKeyPairSync('ed25519');
      const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
      const text = verifierKeyText(`policy-gate.host-${i}`, raw);
      expect(parseVerifierKey(text)).toMatchObject({ name: `policy-gate.host-${i}`, text });
    }
    expect(() => parseVerifierKey('policy-gate.x+00000000+AAAA')).toThrow(/not an Ed25519 key|key id/);
  });
});

describe('crash test: processes killed with SIGKILL while writing', () => {
  it('8 writers, some killed at random points: integrity ok, verify passes, every run has its submission and decision', async () => {
    const t = setup();
    await t.bin(['check', '--', 'git status']); // the key and the store exist before the storm
    const commands = ['git status', 'ls -la', 'npm publish', 'rm -rf /', 'cat README.md', 'echo hi'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let killed = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_v, w) => {
        for (let i = 0; i < 6; i++) {
          const cmd = commands[(w + i) % commands.length]!;
          const args =
            i % 2 === 0 ? ['exec', '--timeout', '1', '--', cmd] : ['check', '--no-wait', '--', `${cmd} # ${w}-${i}`];
          const child = spawn(process.execPath, [BIN, ...args], {
            cwd: t.cwd,
            env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...t.env },
            stdio: 'ignore',
          });
          const done = new Promise((r) => child.on('close', r));
          if (random() < 0.4) {
            setTimeout(
              () => {
                if (child.exitCode === null && child.kill('SIGKILL')) killed++;
              },
              Math.floor(random() * 250),
            );
          }
          await done;
        }
      }),
    );
    expect(killed).toBeGreaterThan(0);
    const s = openSqliteStore(t.store, { readonly: true });
    expect(await s.integrity()).toEqual({ ok: true });
    const events = await s.events();
    await s.close();
    for (const run of events.filter((e) => e.type === 'EXEC_START')) {
      const types = events.filter((e) => e.command_id === run.command_id && e.seq < run.seq).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['SUBMITTED', 'DECIDED']));
    }
    const r = await t.bin(['verify', '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(existsSync(join(t.cwd, '.policy-gate', 'gate.key'))).toBe(true);
  }, 120_000);
});
