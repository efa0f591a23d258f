/**
 * PostgreSQL failing for real, at the store: a read-only database (a hot standby), a statement
 * timeout, the server stopped. A submission is either committed once or refused with a store
 * error (the command must not run) and spooled, and the next writer records the failure; nothing
 * is recorded twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../engine/audit/pg/backend.js';
import { GateError } from '../engine/index.js';
import { submitted } from './audit-store-contract.js';
import { tempDir } from './helpers.js';
import { startPg, type PgServer } from './pg-fixture.js';

let pg: PgServer;

beforeAll(async () => {
  pg = await startPg();
}, 120_000);

afterAll(() => pg?.destroy());

async function refused(fn: () => Promise<unknown>): Promise<GateError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof GateError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('PostgreSQL faults', () => {
  it('a read-only database refuses the submission as a store failure; the next writer records it', async () => {
    pg.sql('CREATE DATABASE ro');
    const url = `postgresql://gate@127.0.0.1:${pg.port}/ro`;
    const state = tempDir();
    await (await openPgStore(url, { migrate: true, stateDir: state })).close();
    pg.sql('ALTER DATABASE ro SET default_transaction_read_only = on');
    const standby = await openPgStore(url, { stateDir: state });
    const err = await refused(() => standby.submit(submitted('R1', '2026-01-07T12:00:00.000Z')));
    expect(err.code).toBe('store-write-failed');
    expect(err.hint).toMatch(/must not run/);
    await standby.close();
    pg.sql('ALTER DATABASE ro SET default_transaction_read_only = off');
    const next = await openPgStore(url, { stateDir: state });
    try {
      await next.submit(submitted('R2', '2026-01-07T12:00:01.000Z'));
      const types = (await next.events()).map((e) => e.type);
      expect(types).toEqual(['WRITE_FAILED', 'SUBMITTED']);
      expect(await next.command('R1')).toBeNull(); // refused, not half-recorded
    } finally {
      await next.close();
    }
  });

  it('a statement timeout refuses the write; nothing of it is kept', async () => {
    pg.sql('CREATE DATABASE slow');
    const url = `postgresql://gate@127.0.0.1:${pg.port}/slow`;
    await (await openPgStore(url, { migrate: true, stateDir: tempDir() })).close();
    // another session holds the chain head: the writer waits on it past its statement timeout
    pg.sql("ALTER DATABASE slow SET statement_timeout = '300ms'");
    const store = await openPgStore(url, { stateDir: tempDir() });
    const holder = openPgStore(url, { stateDir: tempDir() });
    const h = await holder;
    try {
      let release!: () => void;
      let locked!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const isLocked = new Promise<void>((r) => (locked = r));
      const holding = h.atomically(async () => {
        await h.submit(submitted('T0', '2026-01-07T12:00:00.000Z'));
        locked(); // the head row is locked by this open transaction now
        await held;
      });
      await isLocked;
      const err = await refused(() => store.submit(submitted('T1', '2026-01-07T12:00:01.000Z')));
      expect(err.code).toBe('store-write-failed');
      release();
      await holding.catch(() => undefined);
    } finally {
      await store.close();
      await h.close();
    }
  });

  it('the server stopped: refused; started again: the next writer records the failure', async () => {
    pg.sql('CREATE DATABASE gone');
    const url = `postgresql://gate@127.0.0.1:${pg.port}/gone`;
    const state = tempDir();
    const store = await openPgStore(url, { migrate: true, stateDir: state });
    await store.submit(submitted('G1', '2026-01-07T12:00:00.000Z'));
    pg.stop();
    try {
      const err = await refused(() => store.submit(submitted('G2', '2026-01-07T12:00:01.000Z')));
      expect(['store-write-failed', 'store-unavailable']).toContain(err.code);
    } finally {
      await store.close();
      pg.start();
    }
    const next = await openPgStore(url, { stateDir: state });
    try {
      await next.submit(submitted('G3', '2026-01-07T12:00:02.000Z'));
      const events = await next.events();
      expect(events.map((e) => e.type)).toEqual(['SUBMITTED', 'WRITE_FAILED', 'SUBMITTED']);
      expect(events.filter((e) => e.command_id === 'G1')).toHaveLength(1);
    } finally {
      await next.close();
    }
  });
});
