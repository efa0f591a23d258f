import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GateError, SqliteAuditStore } from '../engine/index.js';
import { canonicalJson } from '../engine/util/canonical.js';
import { describeAuditStoreContract, submitted } from './audit-store-contract.js';
import { tempDir } from './helpers.js';

describeAuditStoreContract('SQLite', () => SqliteAuditStore.open(join(tempDir(), 'audit.db')));

function storeError(fn: () => unknown): GateError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GateError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('SQLite audit store', () => {
  it('creates its directory and file private to the user, in WAL mode with synchronous=FULL', () => {
    const path = join(tempDir(), 'nested', 'dir', 'audit.db');
    const store = SqliteAuditStore.open(path);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(store.raw().pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.raw().pragma('synchronous', { simple: true })).toBe(2);
    expect(store.raw().pragma('user_version', { simple: true })).toBe(4);
    store.close();
  });

  it('refuses UPDATE and DELETE: the log is append-only', () => {
    const store = SqliteAuditStore.open(join(tempDir(), 'audit.db'));
    store.submit(submitted('U', '2026-01-07T12:00:00.000Z'));
    expect(() => store.raw().prepare("UPDATE events SET body = x'00'").run()).toThrow(/append-only/);
    expect(() => store.raw().prepare('DELETE FROM events').run()).toThrow(/append-only/);
    expect(store.events()).toHaveLength(1);
    store.close();
  });

  it('a submission is durable when submit returns: another connection sees it', () => {
    const path = join(tempDir(), 'audit.db');
    const store = SqliteAuditStore.open(path);
    store.submit(submitted('D', '2026-01-07T12:00:00.000Z'));
    const other = new Database(path, { readonly: true });
    expect(other.prepare("SELECT count(*) AS n FROM events WHERE command_id = 'D'").get()).toEqual({ n: 1 });
    other.close();
    store.close();
  });

  it('an unusable path is a clear store-unavailable error', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'audit.db'));
    const err = storeError(() => SqliteAuditStore.open(join(dir, 'audit.db')));
    expect(err.code).toBe('store-unavailable');
    expect(err.exitCode).toBe(2);
    expect(err.hint).toMatch(/must not run/);
  });

  it('a store that cannot be written refuses the submission (store-write-failed)', () => {
    const path = join(tempDir(), 'audit.db');
    SqliteAuditStore.open(path).close();
    const readonly = SqliteAuditStore.open(path, { readonly: true });
    const err = storeError(() => readonly.submit(submitted('R', '2026-01-07T12:00:00.000Z')));
    expect(err.code).toBe('store-write-failed');
    expect(err.message).toMatch(/not recorded/);
    readonly.close();
  });

  it('a store locked past the busy timeout refuses the submission', () => {
    const path = join(tempDir(), 'audit.db');
    SqliteAuditStore.open(path).close();
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    const store = SqliteAuditStore.open(path, { busyTimeoutMs: 50 });
    const err = storeError(() => store.submit(submitted('L', '2026-01-07T12:00:00.000Z')));
    expect(err.code).toBe('store-write-failed');
    holder.exec('ROLLBACK');
    holder.close();
    store.submit(submitted('L', '2026-01-07T12:00:00.000Z'));
    expect(store.command('L')).not.toBeNull();
    store.close();
  });

  it('a directory that can never be created fails at once (no endless retry)', () => {
    // Node 20's recursive mkdirSync spins forever on ENOENT under /proc
    expect(() => SqliteAuditStore.open('/proc/policy-gate-test/nested/audit.db')).toThrow(
      /cannot create its directory/,
    );
  });

  it('the schema check knows every object a new store has: removing any one of them is reported', () => {
    const path = join(tempDir(), 'audit.db');
    SqliteAuditStore.open(path).close();
    const db = new Database(path);
    const objects = db
      .prepare("SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' AND type != 'table'")
      .all() as { type: string; name: string }[];
    db.close();
    expect(objects.length).toBeGreaterThanOrEqual(11); // 4 triggers, 7 indexes
    expect(SqliteAuditStore.open(path, { readonly: true }).schemaProblems).toEqual([]);
    for (const o of objects) {
      const copy = join(tempDir(), 'audit.db');
      const conn = new Database(path);
      conn.exec(`VACUUM INTO '${copy}'`);
      conn.close();
      const c = new Database(copy);
      c.exec(`DROP ${o.type.toUpperCase()} ${o.name}`);
      c.close();
      const s = SqliteAuditStore.open(copy, { readonly: true });
      expect(s.schemaProblems).toEqual([`${o.type} ${o.name} is missing`]);
      s.close();
    }
  });

  it('a read-only open of a missing store fails instead of creating one', () => {
    const path = join(tempDir(), 'none', 'audit.db');
    expect(storeError(() => SqliteAuditStore.open(path, { readonly: true })).code).toBe('store-unavailable');
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
