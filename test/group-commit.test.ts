/**
 * Group commit: concurrent writes to one trail share a durable transaction, in arrival order,
 * with one unbroken chain; a write that fails inside a shared transaction fails alone. Real
 * SQLite file.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainHash, GENESIS } from '../engine/audit/chain.js';
import { AuditTrail } from '../engine/audit/trail.js';
import { openSqliteStore, type AuditStore } from '../engine/index.js';
import { decided, submitted } from './audit-store-contract.js';
import { tempDir } from './helpers.js';

const id = (i: number): string => `01JGROUPCOMMIT${String(i).padStart(12, '0')}`;
const AT = '2026-01-07T12:00:00.000Z';

async function chainOf(store: AuditStore): Promise<{ seqs: number[]; ok: boolean; ids: (string | null)[] }> {
  let prev: Buffer = GENESIS;
  let ok = true;
  const seqs: number[] = [];
  const ids: (string | null)[] = [];
  for await (const e of store.rawEvents()) {
    const expected = chainHash(prev, e.leaf);
    if (!expected.equals(e.chain)) ok = false;
    prev = e.chain;
    seqs.push(e.seq);
    ids.push(e.command_id);
  }
  return { seqs, ok, ids };
}

function trailOf(store: AuditStore): AuditTrail {
  expect(store).toBeInstanceOf(AuditTrail);
  return store as AuditTrail;
}

describe('group commit', () => {
  it('200 concurrent submissions: all recorded in arrival order, one unbroken chain, far fewer transactions', async () => {
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    try {
      const trail = trailOf(store);
      const before = { ...trail.commits };
      const events = await Promise.all(Array.from({ length: 200 }, (_, i) => store.submit(submitted(id(i), AT))));
      expect(events.map((e) => e.command_id)).toEqual(Array.from({ length: 200 }, (_, i) => id(i)));
      // every caller heard back with its own place in the chain, in the order it asked
      expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
      const { seqs, ok, ids } = await chainOf(store);
      expect(ok).toBe(true);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(ids.filter((x) => x !== null)).toHaveLength(200);
      const transactions = trail.commits.transactions - before.transactions;
      expect(trail.commits.writes - before.writes).toBe(200);
      expect(transactions).toBeLessThan(50);
    } finally {
      await store.close();
    }
  });

  it('a write that fails inside a shared transaction fails alone; the others commit', async () => {
    const store = openSqliteStore(join(tempDir(), 'audit.db'));
    try {
      await store.submit(submitted(id(1), AT));
      // a second decision for one command is refused (one decision per command), the rest commit
      const results = await Promise.allSettled([
        store.decide(decided(id(1), AT, 'approved', 'alice')),
        store.submit(submitted(id(2), AT)),
        store.decide(decided(id(1), AT, 'denied', 'bob')),
        store.submit(submitted(id(3), AT)),
        store.atomically(async (tx) => {
          await tx.submit(submitted(id(4), AT));
          throw new Error('the caller gave up half way');
        }),
        store.submit(submitted(id(5), AT)),
      ]);
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      expect((results[2] as PromiseFulfilledResult<unknown>).value).toBeNull(); // the duplicate decision
      const { ok, ids } = await chainOf(store);
      expect(ok).toBe(true);
      // the unit that threw left nothing behind: id 4 was never recorded
      expect(ids).not.toContain(id(4));
      expect(ids.filter((x) => x !== null)).toEqual([id(1), id(1), id(2), id(3), id(5)]);
      expect((await store.decision(id(1)))?.decided_by).toBe('alice');
    } finally {
      await store.close();
    }
  });
});
