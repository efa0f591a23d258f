import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GateError, openSqliteStore, type AuditStore } from '../engine/index.js';
import { APPLICATION_ID, MIGRATIONS } from '../engine/audit/sqlite/schema.js';
import { canonicalJson } from '../engine/util/canonical.js';
import { describeAuditStoreContract, submitted } from './audit-store-contract.js';
import { tempDir } from './helpers.js';

describeAuditStoreContract('SQLite', {
  create: (options) => openSqliteStore(join(tempDir(), 'audit.db'), options),
  reopen: (store, options) => openSqliteStore(store.location, options),
});

async function storeError(fn: () => unknown): Promise<GateError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof GateError) return err;
    throw err;
  }
  throw new Error('no error');
}

/** The SQLite connection behind a store opened by openSqliteStore (for per-connection settings). */
function connectionOf(store: AuditStore): Database.Database {
  const backend = (store as unknown as { backend?: { db?: Database.Database } }).backend;
  if (!backend?.db) throw new Error('not a store opened by openSqliteStore');
  return backend.db;
}

describe('SQLite audit store', () => {
  it('creates its directory and file private to the user, in WAL mode with synchronous=FULL', async () => {
    const path = join(tempDir(), 'nested', 'dir', 'audit.db');
    const store = openSqliteStore(path);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // synchronous is a setting of the connection: the store's own (SQLite-specific, so reached
    // through the backend's private connection rather than the AuditStore interface)
    expect(connectionOf(store).pragma('synchronous', { simple: true })).toBe(2);
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    db.close();
  });

  it('refuses UPDATE and DELETE: the log is append-only', async () => {
    const path = join(tempDir(), 'audit.db');
    const store = openSqliteStore(path);
    await store.submit(submitted('U', '2026-01-07T12:00:00.000Z'));
    const db = new Database(path);
    expect(() => db.prepare("UPDATE events SET body = x'00'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM events').run()).toThrow(/append-only/);
    db.close();
    expect(await store.events()).toHaveLength(1);
    await store.close();
  });

  it('a submission is durable when submit returns: another connection sees it', async () => {
    const path = join(tempDir(), 'audit.db');
    const store = openSqliteStore(path);
    await store.submit(submitted('D', '2026-01-07T12:00:00.000Z'));
    const other = new Database(path, { readonly: true });
    expect(other.prepare("SELECT count(*) AS n FROM events WHERE command_id = 'D'").get()).toEqual({ n: 1 });
    other.close();
    await store.close();
  });

  it('an unusable path is a clear store-unavailable error', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'audit.db'));
    const err = await storeError(() => openSqliteStore(join(dir, 'audit.db')));
    expect(err.code).toBe('store-unavailable');
    expect(err.exitCode).toBe(2);
    expect(err.hint).toMatch(/must not run/);
  });

  it('a store that cannot be written refuses the submission (store-write-failed)', async () => {
    const path = join(tempDir(), 'audit.db');
    await openSqliteStore(path).close();
    const readonly = openSqliteStore(path, { readonly: true });
    const err = await storeError(() => readonly.submit(submitted('R', '2026-01-07T12:00:00.000Z')));
    expect(err.code).toBe('store-write-failed');
    expect(err.message).toMatch(/not recorded/);
    expect(await readonly.eventCount()).toBe(0);
    await readonly.close();
  });

  it('a store locked past the busy timeout refuses the submission', async () => {
    const path = join(tempDir(), 'audit.db');
    await openSqliteStore(path).close();
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    const store = openSqliteStore(path, { busyTimeoutMs: 50 });
    const err = await storeError(() => store.submit(submitted('L', '2026-01-07T12:00:00.000Z')));
    expect(err.code).toBe('store-write-failed');
    holder.exec('ROLLBACK');
    holder.close();
    await store.submit(submitted('L', '2026-01-07T12:00:00.000Z'));
    expect(await store.command('L')).not.toBeNull();
    await store.close();
  });

  it('a directory that can never be created fails at once (no endless retry)', () => {
    // Node 20's recursive mkdirSync spins forever on ENOENT under /proc
    expect(() => openSqliteStore('/proc/policy-gate-test/nested/audit.db')).toThrow(/cannot create its directory/);
  });

  it('the schema check knows every object a new store has: removing any one of them is reported', async () => {
    const path = join(tempDir(), 'audit.db');
    await openSqliteStore(path).close();
    const db = new Database(path);
    const objects = db
      .prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' AND type != 'table'")
      .all() as { type: string; name: string }[];
    db.close();
    expect(objects.length).toBeGreaterThanOrEqual(11); // 4 triggers, 7 indexes
    const whole = openSqliteStore(path, { readonly: true });
    expect(whole.schemaProblems).toEqual([]);
    await whole.close();
    for (const o of objects) {
      const copy = join(tempDir(), 'audit.db');
      const conn = new Database(path);
      conn.exec(`VACUUM INTO '${copy}'`);
      conn.close();
      const c = new Database(copy);
      c.exec(`DROP ${o.type.toUpperCase()} ${o.name}`);
      c.close();
      const s = openSqliteStore(copy, { readonly: true });
      expect(s.schemaProblems).toEqual([`${o.type} ${o.name} is missing`]);
      await s.close();
    }
  });

  it('a read-only open of a missing store fails instead of creating one', async () => {
    const path = join(tempDir(), 'none', 'audit.db');
    expect((await storeError(() => openSqliteStore(path, { readonly: true }))).code).toBe('store-unavailable');
    expect(existsSync(path)).toBe(false);
  });
});

describe('canonical JSON', () => {
  it('sorts keys, drops undefined, allows only safe integers', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined })).toBe('{"a":[true,null,"x"],"b":1}');
    expect(() => canonicalJson({ x: 1.5 })).toThrow(/integers only/);
    expect(() => canonicalJson({ x: 2 ** 60 })).toThrow(/integers only/);
  });
});
