/**
 * The audit trail in one SQLite file: WAL with synchronous=FULL, every write in a BEGIN
 * IMMEDIATE transaction (retried while another writer holds the lock), one append-only
 * `events` table whose triggers refuse UPDATE and DELETE and whose unique indexes admit one
 * SUBMITTED, DECIDED, EXEC_START and EXEC_END per command. Only this folder touches SQLite.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { EncodedEvent, RawEvent, StoredCheckpoint } from '../chain.js';
import type { CheckpointSigner } from '../checkpoint.js';
import type { AuditBackend, BackendErrorKind, BackendTransaction } from '../backend.js';
import { eventFromRow, recordFromBodies, type EventRow, type LifecycleBodies } from '../rows.js';
import type { AuditReader, CommandFilter, Integrity } from '../store.js';
import { AuditTrail } from '../trail.js';
import type { CommandRecord, DecidedBody, GateEventType, StoredEvent, SubmittedBody } from '../../model/events.js';
import type { SessionHistory } from '../../model/history.js';
import { GateError, describeCause, isCorruption, sqliteCode } from '../../util/errors.js';
import { makeDirectories } from '../../util/fs.js';
import { checkIdentity, migrate, MIGRATIONS, schemaDifferences } from './schema.js';
import { noteProbe, probeIntegrity, readProbe } from './probe.js';

const require = createRequire(import.meta.url);

/** How long a writer waits for the write lock in all (retries included) unless told otherwise. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

export interface SqliteStoreOptions {
  /**
   * How long a write waits for the lock before giving up (ms), in all: SQLite's busy handler
   * waits in short rounds, and between rounds the writer backs off for a random moment, so that
   * many writers do not keep colliding in lockstep. Default DEFAULT_LOCK_TIMEOUT_MS.
   */
  readonly busyTimeoutMs?: number | undefined;
  /** Open an existing store for reading only; never create or migrate. */
  readonly readonly?: boolean | undefined;
  /** Sign a checkpoint after every decision (in the decision's transaction). */
  readonly signer?: CheckpointSigner | undefined;
  /**
   * Called with every checkpoint this store signs, after the transaction that wrote it commits
   * (the witnesses). What it throws fails the write it followed.
   */
  readonly witness?: ((note: string) => void) | undefined;
  /** The gate's state directory (the failed-write spool): the store's directory by default. */
  readonly stateDir?: string | undefined;
}

/** Open (creating and migrating when writable) the SQLite store at `path` as an audit trail. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): AuditTrail {
  const backend = SqliteBackend.open(path, options);
  return new AuditTrail(backend, {
    stateDir: options.stateDir ?? dirname(path),
    signer: options.signer,
    witness: options.witness,
  });
}

export class SqliteBackend implements AuditBackend, BackendTransaction {
  /** Statements prepared once per text (a resident gate runs the same few thousands of times). */
  private readonly cache = new Map<string, BetterSqlite3.Statement>();

  private prepared(sql: string): BetterSqlite3.Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }

  private readonly statements: {
    last: BetterSqlite3.Statement<[], { seq: number; chain: Buffer } | undefined>;
    insert: BetterSqlite3.Statement<
      [string, string | null, string | null, string, string | null, Buffer, Buffer, Buffer]
    >;
    decided: BetterSqlite3.Statement<[string], { body: Buffer } | undefined>;
    submitted: BetterSqlite3.Statement<[string], EventRow | undefined>;
  };

  private constructor(
    readonly location: string,
    private readonly db: BetterSqlite3.Database,
    readonly writable: boolean,
    private readonly lockTimeoutMs: number,
    readonly schemaProblems: readonly string[],
  ) {
    this.statements = {
      last: db.prepare('SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(
        'INSERT INTO events (type, command_id, session_id, at, programs, body, leaf, chain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      decided: db.prepare("SELECT body FROM events WHERE command_id = ? AND type = 'DECIDED'"),
      submitted: db.prepare(
        "SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id = ? AND type = 'SUBMITTED'",
      ),
    };
  }

  static open(path: string, options: SqliteStoreOptions = {}): SqliteBackend {
    const readonly = options.readonly ?? false;
    let Database: typeof BetterSqlite3;
    try {
      Database = require('better-sqlite3') as typeof BetterSqlite3;
    } catch (err) {
      throw unavailable(path, err, 'load the SQLite driver');
    }
    if (!readonly) {
      try {
        makeDirectories(dirname(path));
      } catch (err) {
        throw unavailable(path, err, 'create its directory');
      }
    }
    const fresh = !existsSync(path);
    const lockTimeoutMs = options.busyTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    let db: BetterSqlite3.Database;
    try {
      db = new Database(path, {
        readonly,
        fileMustExist: readonly,
        timeout: attemptTimeout(lockTimeoutMs),
        ...nativeBinding(),
      });
    } catch (err) {
      throw unavailable(path, err, 'open it');
    }
    if (readonly) {
      try {
        db.pragma('application_id'); // the first read is where a WAL store on read-only media fails
      } catch (err) {
        db.close();
        db =
          sqliteCode(err) === 'SQLITE_CANTOPEN'
            ? openImage(Database, path, err)
            : throwUnavailable(path, err, 'open it');
      }
    }
    let schemaProblems: string[];
    try {
      // nothing is written before the file is known to be a policy-gate store (or empty)
      checkIdentity(db, path);
      if (!readonly) {
        if (fresh) chmodSync(path, 0o600);
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        migrate(db);
      } else if ((db.pragma('user_version', { simple: true }) as number) < MIGRATIONS.length) {
        throw new Error('the store was written by an older version: open it once for writing to migrate');
      }
      schemaProblems = schemaDifferences(db);
      if (!readonly && schemaProblems.length > 0) {
        throw new GateError(
          'store-tampered',
          `audit store ${path}: its protections were removed or changed (${schemaProblems.join('; ')}): ` +
            'the gate does not write to it',
          {
            hint: 'the command must not run; run `policy-gate verify`, and restore the store from a copy',
          },
        );
      }
      if (!readonly) probeIntegrity(db, path);
    } catch (err) {
      db.close();
      if (err instanceof GateError) throw err;
      if (isCorruption(err)) throw corrupted(path, err);
      throw unavailable(path, err, readonly ? 'read it' : 'prepare it for writing');
    }
    return new SqliteBackend(path, db, !readonly, lockTimeoutMs, schemaProblems);
  }

  // ---- transactions -------------------------------------------------------------------------

  async transaction<T>(fn: (tx: BackendTransaction) => Promise<T>): Promise<T> {
    withLockRetry(this.lockTimeoutMs, () => this.db.exec('BEGIN IMMEDIATE'));
    try {
      const result = await fn(this);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('SAVEPOINT unit');
    try {
      const result = await fn();
      this.db.exec('RELEASE unit');
      return result;
    } catch (err) {
      if (this.db.inTransaction) {
        this.db.exec('ROLLBACK TO unit');
        this.db.exec('RELEASE unit');
      }
      throw err;
    }
  }

  async snapshot<T>(fn: (reader: AuditReader) => Promise<T>): Promise<T> {
    this.db.exec('BEGIN');
    try {
      this.prepared('SELECT COUNT(*) FROM checkpoints').get(); // the snapshot starts at the first read
      return await fn(this);
    } finally {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    }
  }

  classify(err: unknown): BackendErrorKind | null {
    const code = sqliteCode(err);
    if (code === 'SQLITE_CONSTRAINT_UNIQUE') return 'duplicate';
    if (isCorruption(err)) return 'corrupt';
    return code !== null ? 'store' : null;
  }

  // ---- appends ------------------------------------------------------------------------------

  async head(): Promise<{ seq: number; chain: Buffer } | null> {
    return this.statements.last.get() ?? null;
  }

  async firstLeaf(): Promise<Buffer | null> {
    const row = this.prepared('SELECT leaf FROM events WHERE seq = 1').get() as { leaf: Buffer } | undefined;
    return row?.leaf ?? null;
  }

  async insert(e: EncodedEvent, chain: Buffer): Promise<number> {
    const info = this.statements.insert.run(
      e.type,
      e.command_id,
      e.session_id,
      e.at,
      e.programs,
      e.bytes,
      e.leaf,
      chain,
    );
    return Number(info.lastInsertRowid);
  }

  async insertCheckpoint(c: Omit<StoredCheckpoint, 'id'>): Promise<number> {
    const info = this.prepared('INSERT INTO checkpoints (size, chain, at, note) VALUES (?, ?, ?, ?)').run(
      c.size,
      c.chain,
      c.at,
      c.note,
    );
    return Number(info.lastInsertRowid);
  }

  // ---- reads --------------------------------------------------------------------------------

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return (
      (this.prepared('SELECT id, size, chain, at, note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as
        StoredCheckpoint | undefined) ?? null
    );
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    return this.prepared('SELECT id, size, chain, at, note FROM checkpoints ORDER BY id').all() as StoredCheckpoint[];
  }

  async overdue(now: Date, limit = 100): Promise<{ submitted: SubmittedBody; leaf: string }[]> {
    const rows = this.prepared(
      `SELECT s.body AS body, s.leaf AS leaf FROM events s
           WHERE s.type = 'SUBMITTED' AND json_extract(CAST(s.body AS TEXT), '$.deadline') < ?
             AND NOT EXISTS (SELECT 1 FROM events d WHERE d.command_id = s.command_id AND d.type = 'DECIDED')
           ORDER BY s.seq LIMIT ?`,
    ).all(now.toISOString(), limit) as { body: Buffer; leaf: Buffer }[];
    return rows.map((r) => ({
      submitted: JSON.parse(r.body.toString('utf8')) as SubmittedBody,
      leaf: r.leaf.toString('hex'),
    }));
  }

  async *rawEvents(): AsyncIterable<RawEvent> {
    // a statement of its own: an iteration in progress keeps its statement busy
    yield* this.db
      .prepare('SELECT seq, type, command_id, at, body AS bytes, leaf, chain FROM events ORDER BY seq')
      .iterate() as IterableIterator<RawEvent>;
  }

  /**
   * In order of first use, read by SQLite's JSON (no body reaches JavaScript: on a large trail this
   * was a pass of its own). A body that is not JSON names no revision; verify reports it.
   */
  async policyRevisions(): Promise<string[]> {
    const rows = this.prepared(
      `SELECT json_extract(CAST(body AS TEXT), '$.policy_revision') AS revision FROM events
           WHERE type = 'DECIDED' AND json_valid(CAST(body AS TEXT)) GROUP BY revision ORDER BY min(seq)`,
    ).all() as { revision: string | null }[];
    return rows.flatMap((r) => (typeof r.revision === 'string' ? [r.revision] : []));
  }

  async eventCount(): Promise<number> {
    return (this.prepared('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  async commandEvents(commandId: string): Promise<StoredEvent[]> {
    return (
      this.prepared(
        'SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id = ? ORDER BY seq',
      ).all(commandId) as EventRow[]
    ).map(eventFromRow);
  }

  async decision(commandId: string): Promise<DecidedBody | null> {
    const row = this.statements.decided.get(commandId);
    return row ? (JSON.parse(row.body.toString('utf8')) as DecidedBody) : null;
  }

  async command(commandId: string): Promise<CommandRecord | null> {
    const row = this.statements.submitted.get(commandId);
    if (!row) return null;
    const body = (type: string): Buffer | null =>
      (
        this.prepared('SELECT body FROM events WHERE command_id = ? AND type = ?').get(commandId, type) as
          { body: Buffer } | undefined
      )?.body ?? null;
    return recordFromBodies({
      submitted: row.body,
      decided: body('DECIDED'),
      started: body('EXEC_START'),
      ended: body('EXEC_END'),
    });
  }

  async sessionHistory(sessionId: string, now: Date, windowSeconds: number): Promise<SessionHistory> {
    const nowIso = now.toISOString();
    const since = new Date(now.getTime() - windowSeconds * 1000).toISOString();
    const rows = this.prepared(
      "SELECT at, programs FROM events WHERE type = 'SUBMITTED' AND session_id = ? AND at <= ?",
    ).all(sessionId, nowIso) as { at: string; programs: string | null }[];
    const programs = new Set<string>();
    let recentCount = 0;
    for (const r of rows) {
      if (r.at >= since) recentCount++;
      for (const p of (r.programs ?? '').split(' ')) if (p) programs.add(p);
    }
    return { recentCount, programs, total: rows.length };
  }

  async commands(filter: CommandFilter = {}): Promise<CommandRecord[]> {
    const where: string[] = ["s.type = 'SUBMITTED'"];
    const args: (string | number)[] = [];
    if (filter.session !== undefined) {
      where.push('s.session_id = ?');
      args.push(filter.session);
    }
    if (filter.since !== undefined) {
      where.push('s.at >= ?');
      args.push(filter.since);
    }
    if (filter.decision !== undefined) {
      if (filter.decision === 'pending') where.push('d.seq IS NULL');
      else {
        where.push("json_extract(d.body, '$.decision') = ?");
        args.push(filter.decision);
      }
    }
    const limit = filter.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const rows = this.prepared(
      `SELECT * FROM (SELECT s.seq AS seq, s.body AS submitted, d.body AS decided, xs.body AS started,
                xe.body AS ended FROM events s
           LEFT JOIN events d ON d.command_id = s.command_id AND d.type = 'DECIDED'
           LEFT JOIN events xs ON xs.command_id = s.command_id AND xs.type = 'EXEC_START'
           LEFT JOIN events xe ON xe.command_id = s.command_id AND xe.type = 'EXEC_END'
           WHERE ${where.join(' AND ')} ORDER BY s.seq DESC ${limit}) ORDER BY seq ASC`,
    ).all(...args) as LifecycleBodies[];
    return rows.map(recordFromBodies);
  }

  async gateEvents(type: GateEventType): Promise<StoredEvent[]> {
    return (
      this.prepared(
        'SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id IS NULL AND type = ? ORDER BY seq',
      ).all(type) as EventRow[]
    ).map(eventFromRow);
  }

  async events(fromSeq = 1): Promise<StoredEvent[]> {
    const rows = this.prepared(
      'SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE seq >= ? ORDER BY seq',
    ).all(fromSeq) as EventRow[];
    return rows.map(eventFromRow);
  }

  /**
   * The whole file checked (`PRAGMA integrity_check`); when SQLite cannot even walk it, the
   * first event it cannot read.
   */
  async integrity(): Promise<Integrity> {
    let result: string;
    try {
      result = (this.db.pragma('integrity_check(20)') as { integrity_check: string }[])
        .map((r) => r.integrity_check)
        .join('; ');
    } catch (err) {
      if (!isCorruption(err)) throw err;
      let read = 0;
      try {
        for (const e of this.db.prepare('SELECT seq FROM events ORDER BY seq').iterate() as Iterable<{ seq: number }>) {
          if (e.seq !== read + 1) break;
          read = e.seq;
        }
      } catch {
        /* stopped at the damage */
      }
      return { ok: false, detail: (err as Error).message, unreadableFrom: read + 1 };
    }
    return result === 'ok'
      ? { ok: true }
      : { ok: false, detail: `PRAGMA integrity_check: ${result}`, unreadableFrom: null };
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    const file = this.db.memory ? null : this.location;
    this.db.close();
    if (this.writable && file) {
      // this writer's own changes to the main file are not a reason for a full check next time
      const note = readProbe(file);
      if (note && !note.corrupt) noteProbe(file, note.checked_at);
    }
  }
}

function unavailable(path: string, err: unknown, action: string): GateError {
  if (err instanceof GateError) return err;
  if (isCorruption(err)) return corrupted(path, err);
  return new GateError('store-unavailable', `audit store ${path}: cannot ${action}: ${describeCause(err)}`, {
    cause: err,
    hint: 'the command must not run; check the store path (--store / POLICY_GATE_STORE) and its permissions',
  });
}

function throwUnavailable(path: string, err: unknown, action: string): never {
  throw unavailable(path, err, action);
}

function corrupted(path: string, err: unknown): GateError {
  return new GateError('store-corrupt', `audit store ${path} is corrupted: ${describeCause(err)}`, {
    cause: err,
    hint: 'the command must not run; run `policy-gate verify` to find the first bad page, and restore the store from a copy',
  });
}

/**
 * The addon's path, so better-sqlite3 does not search a dozen directories for it at every start
 * (the `bindings` lookup costs more than opening the database).
 */
function nativeBinding(): { nativeBinding?: string } {
  try {
    return { nativeBinding: require.resolve('better-sqlite3/build/Release/better_sqlite3.node') };
  } catch {
    return {};
  }
}

/** The busy timeout of one attempt at the lock: short rounds, so a writer can back off between them. */
function attemptTimeout(lockTimeoutMs: number): number {
  return Math.max(0, Math.min(lockTimeoutMs, 1000));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** A synchronous pause between attempts (the driver itself waits synchronously). */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== null && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Take the write lock, retrying while another writer holds it, until `timeoutMs` has passed:
 * each attempt waits up to a second in SQLite's busy handler, then the writer backs off for a
 * random 5–50 ms before the next one.
 */
function withLockRetry<T>(timeoutMs: number, attempt: () => T): T {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      pause(Math.min(Math.max(0, deadline - Date.now()), 5 + Math.floor(Math.random() * 45)));
    }
  }
}

/**
 * The store on read-only media, where SQLite cannot make the shared-memory file a WAL database
 * needs: read the file into memory (marked as a rollback-journal database there, which is what
 * a copy without its -wal is) and open that. A -wal left beside it cannot be read this way.
 */
function openImage(Database: typeof BetterSqlite3, path: string, original: unknown): BetterSqlite3.Database {
  if (existsSync(`${path}-wal`) && statSync(`${path}-wal`).size > 0)
    throwUnavailable(path, original, 'open it (read-only media with an unmerged -wal file)');
  let image: Buffer;
  try {
    image = readFileSync(path);
  } catch {
    return throwUnavailable(path, original, 'open it');
  }
  if (image.length >= 20 && image[18] === 2 && image[19] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  return new Database(image, { readonly: true, ...nativeBinding() });
}
