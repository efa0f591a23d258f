/**
 * Decisions reach waiters through PostgreSQL's LISTEN/NOTIFY: a decision committed over one
 * connection (another process's, another replica's) wakes a wait on another at once, with no
 * polling; after the notification connection is killed (pg_terminate_backend) it comes back and
 * waiters read the store once, so a decision made meanwhile is not missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../engine/audit/pg/backend.js';
import { ListenWaiter } from '../engine/gate/listen-waiter.js';
import type { AuditStore } from '../engine/index.js';
import { decided, submitted } from './audit-store-contract.js';
import { tempDir, waitFor } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;
let url: string;
let writer: AuditStore;
let reader: AuditStore;

beforeAll(async () => {
  pg = await startPg();
  pg.sql('CREATE DATABASE listen');
  url = `postgresql://gate@127.0.0.1:${pg.port}/listen`;
  writer = await openPgStore(url, { migrate: true, stateDir: tempDir() });
  reader = await openPgStore(url, { stateDir: tempDir() });
}, 120_000);

afterAll(async () => {
  await writer?.close();
  await reader?.close();
  pg?.destroy();
});

/** The reader's decision lookups, counted: a waiter that polled would make many. */
function counted(store: AuditStore): { store: Pick<AuditStore, 'decision'>; reads: () => number } {
  let reads = 0;
  return {
    store: {
      decision: (id: string) => {
        reads++;
        return store.decision(id);
      },
    },
    reads: () => reads,
  };
}

describe('PostgreSQL: decisions by LISTEN/NOTIFY', () => {
  it('a decision committed over another connection wakes the waiter at once, without polling', async () => {
    const { store, reads } = counted(reader);
    const waiter = await ListenWaiter.connect(url, store);
    try {
      await writer.submit(submitted('L1', '2026-01-07T12:00:00.000Z'));
      const t = performance.now();
      const waiting = waiter.next('L1', 60_000);
      await writer.decide(decided('L1', '2026-01-07T12:00:01.000Z', 'approved', 'alice'));
      const decision = await waiting;
      expect(decision).toMatchObject({ command_id: 'L1', decision: 'approved' });
      expect(performance.now() - t).toBeLessThan(10_000); // not the 60 s timeout: woken by NOTIFY
      expect(reads()).toBeLessThanOrEqual(2); // one look before waiting, one when woken
    } finally {
      await waiter.close();
    }
  });

  it('after its connection is killed it reconnects, and a decision made meanwhile is not missed', async () => {
    const waiter = await ListenWaiter.connect(url, reader);
    try {
      await writer.submit(submitted('L2', '2026-01-07T12:00:02.000Z'));
      const waiting = waiter.next('L2', 60_000);
      // kill every listening connection, then decide while it is away
      pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
      await writer.decide(decided('L2', '2026-01-07T12:00:03.000Z', 'denied', 'bob'));
      expect(await waiting).toMatchObject({ command_id: 'L2', decision: 'denied' });
      // and it listens again: the next decision wakes it too
      await writer.submit(submitted('L3', '2026-01-07T12:00:04.000Z'));
      await waitFor('the listener to be back', () =>
        pg.sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'") === '1' ? true : null,
      );
      const again = waiter.next('L3', 60_000);
      await writer.decide(decided('L3', '2026-01-07T12:00:05.000Z', 'approved', 'alice'));
      expect(await again).toMatchObject({ command_id: 'L3' });
    } finally {
      await waiter.close();
    }
  });
});
