/**
 * The audit trail in SQLite: WAL with synchronous=FULL, every write in a BEGIN IMMEDIATE
 * transaction, one append-only `events` table whose triggers refuse UPDATE and DELETE. Each
 * event is stored as canonical bytes and hash-chained to the previous one:
 *   leaf  = SHA-256(0x00 ‖ bytes)
 *   chain = SHA-256("policy-gate/chain/v1" ‖ previous chain ‖ leaf), genesis = 32 zero bytes.
 */
import { makeDirectories } from '../util/fs.js';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { GateError, describeCause, isCorruption, sqliteCode } from '../util/errors.js';
import type { SessionHistory } from '../model/history.js';
import { canonicalJson, type Canonical } from '../util/canonical.js';
import { checkpointBody, type CheckpointSigner } from './checkpoint.js';
import {
  commandRecord,
  eventTime,
  type CommandRecord,
  type DecidedBody,
  type EventBody,
  type ExecEndBody,
  type ExecStartBody,
  type StoredEvent,
  type SubmittedBody,
} from '../model/events.js';
import type { AuditStore, CommandFilter, OtherEventBody } from './store.js';

const require = createRequire(import.meta.url);

/** Failed writes, noted next to the store until the next writer records them. */
export const FAILURE_SPOOL = 'write-failures.jsonl';

/**
 * `PRAGMA application_id` of a policy-gate store ("pgat"): a database that is not empty and
 * does not carry it is another application's, and is never taken over.
 */
export const APPLICATION_ID = 0x70676174;

/** How long a writer waits for the write lock in all (retries included) unless told otherwise. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** A full `PRAGMA quick_check` at least this often, even when the file looks untouched. */
const QUICK_CHECK_INTERVAL_MS = 24 * 3600_000;

export const CHAIN_TAG = Buffer.from('policy-gate/chain/v1', 'utf8');
export const GENESIS = Buffer.alloc(32);

export function leafHash(bytes: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.from([0]))
    .update(bytes)
    .digest();
}

export function chainHash(previous: Buffer, leaf: Buffer): Buffer {
  return createHash('sha256').update(CHAIN_TAG).update(previous).update(leaf).digest();
}

/** Schema migrations by `PRAGMA user_version`; each runs once, in order, in one transaction. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS events (
     seq        INTEGER PRIMARY KEY,
     type       TEXT NOT NULL,
     command_id TEXT,
     session_id TEXT,
     at         TEXT NOT NULL,
     programs   TEXT,
     body       BLOB NOT NULL,
     leaf       BLOB NOT NULL,
     chain      BLOB NOT NULL
   ) STRICT;
   CREATE UNIQUE INDEX IF NOT EXISTS events_one_submitted ON events(command_id) WHERE type = 'SUBMITTED';
   CREATE UNIQUE INDEX IF NOT EXISTS events_one_decided ON events(command_id) WHERE type = 'DECIDED';
   CREATE INDEX IF NOT EXISTS events_session ON events(session_id, at) WHERE type = 'SUBMITTED';
   CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
     BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
   CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
     BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;`,
  `CREATE UNIQUE INDEX IF NOT EXISTS events_one_exec_start ON events(command_id) WHERE type = 'EXEC_START';
   CREATE UNIQUE INDEX IF NOT EXISTS events_one_exec_end ON events(command_id) WHERE type = 'EXEC_END';
   CREATE INDEX IF NOT EXISTS events_command ON events(command_id, seq);`,
  `CREATE TABLE IF NOT EXISTS checkpoints (
     id    INTEGER PRIMARY KEY,
     size  INTEGER NOT NULL,
     chain BLOB NOT NULL,
     at    TEXT NOT NULL,
     note  TEXT NOT NULL
   ) STRICT;
   CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
     BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
   CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
     BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;`,
  // pending commands by deadline, so the next writer finds those nobody decided in time
  `CREATE INDEX IF NOT EXISTS events_deadline ON events(json_extract(CAST(body AS TEXT), '$.deadline')) WHERE type = 'SUBMITTED';`,
];

/** The origin line of a store's checkpoints: named after its first event, so it is stable. */
export function checkpointOrigin(firstLeaf: Buffer): string {
  return `policy-gate/${firstLeaf.subarray(0, 8).toString('hex')}`;
}

export interface RawEvent {
  readonly seq: number;
  readonly type: string;
  readonly command_id: string | null;
  readonly at: string;
  readonly bytes: Buffer;
  readonly leaf: Buffer;
  readonly chain: Buffer;
}

export interface StoredCheckpoint {
  readonly id: number;
  readonly size: number;
  readonly chain: Buffer;
  readonly at: string;
  readonly note: string;
}

export interface SqliteStoreOptions {
  /**
   * How long a write waits for the lock before giving up (ms), in all: SQLite's busy handler
   * waits in short rounds, and between rounds the writer backs off for a random moment, so that
   * many writers do not keep colliding in lockstep. Default DEFAULT_LOCK_TIMEOUT_MS.
   */
  readonly busyTimeoutMs?: number;
  /** Open an existing store for reading only; never create or migrate. */
  readonly readonly?: boolean;
  /** Sign a checkpoint after every decision (in the decision's transaction). */
  readonly signer?: CheckpointSigner;
  /**
   * Called with every checkpoint this store signs, after the transaction that wrote it commits
   * (the witnesses). What it throws fails the write it followed.
   */
  readonly witness?: ((note: string) => void) | undefined;
}

interface EventRow {
  seq: number;
  type: string;
  command_id: string | null;
  at: string;
  body: Buffer;
  leaf: Buffer;
  chain: Buffer;
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

export class SqliteAuditStore implements AuditStore {
  private readonly db: BetterSqlite3.Database;
  private readonly statements: {
    last: BetterSqlite3.Statement<[], { chain: Buffer } | undefined>;
    insert: BetterSqlite3.Statement<
      [string, string | null, string | null, string, string | null, Buffer, Buffer, Buffer]
    >;
    decided: BetterSqlite3.Statement<[string], { body: Buffer } | undefined>;
    submitted: BetterSqlite3.Statement<[string], EventRow | undefined>;
  };

  private readonly signer: CheckpointSigner | null;
  /** Checkpoints signed inside an enclosing transaction, for the witnesses once it commits. */
  private readonly unwitnessed: string[] = [];

  private constructor(
    readonly location: string,
    db: BetterSqlite3.Database,
    signer: CheckpointSigner | null,
    private readonly readonly: boolean,
    private readonly lockTimeoutMs: number,
    /** How the schema differs from the one this version creates (empty: as created). */
    readonly schemaProblems: readonly string[],
    private readonly witness: ((note: string) => void) | null,
  ) {
    this.db = db;
    this.signer = signer;
    this.statements = {
      last: db.prepare('SELECT chain FROM events ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare(
        'INSERT INTO events (type, command_id, session_id, at, programs, body, leaf, chain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      decided: db.prepare("SELECT body FROM events WHERE command_id = ? AND type = 'DECIDED'"),
      submitted: db.prepare(
        "SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id = ? AND type = 'SUBMITTED'",
      ),
    };
  }

  static open(path: string, options: SqliteStoreOptions = {}): SqliteAuditStore {
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
          `audit store ${path}: its protections were removed or changed (${schemaProblems.join('; ')}): the gate does not write to it`,
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
    const store = new SqliteAuditStore(
      path,
      db,
      options.signer ?? null,
      readonly,
      lockTimeoutMs,
      schemaProblems,
      options.witness ?? null,
    );
    if (!readonly) {
      try {
        store.ingestFailures();
      } catch {
        /* recorded next time: a failure to record failures must not stop this writer */
      }
    }
    return store;
  }

  /**
   * A write transaction (BEGIN IMMEDIATE), retried while other writers hold the lock. Inside
   * another transaction it is a savepoint, and the lock is already held.
   */
  private inTransaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    return withLockRetry(this.lockTimeoutMs, fn);
  }

  private append(
    type: EventBody['type'],
    body: EventBody,
    sessionId: string | null,
    programs: string | null,
  ): StoredEvent {
    const bytes = Buffer.from(canonicalJson(body as unknown as Canonical), 'utf8');
    const leaf = leafHash(bytes);
    const at = eventTime(body);
    const write = this.db.transaction(() => {
      const previous = this.statements.last.get()?.chain ?? GENESIS;
      const chain = chainHash(previous, leaf);
      const info = this.statements.insert.run(type, body.command_id, sessionId, at, programs, bytes, leaf, chain);
      return { seq: Number(info.lastInsertRowid), chain };
    });
    const { seq, chain } = this.inTransaction(() => write.immediate());
    return {
      seq,
      type,
      command_id: body.command_id,
      at,
      body,
      bytes,
      leaf: leaf.toString('hex'),
      chain: chain.toString('hex'),
    };
  }

  submit(body: SubmittedBody): StoredEvent {
    const programs = [...new Set(body.segments.map((s) => s.program).filter((p): p is string => p !== null))].join(' ');
    try {
      return this.append('SUBMITTED', body, body.session_id, programs);
    } catch (err) {
      this.noteFailure('SUBMITTED', body.command_id, err);
      throw new GateError(
        'store-write-failed',
        `audit store ${this.location}: the submission was not recorded: ${describeCause(err)}`,
        {
          cause: err,
          hint: 'the command must not run',
        },
      );
    }
  }

  decide(body: DecidedBody): StoredEvent | null {
    let written: { event: StoredEvent; checkpoint: StoredCheckpoint | null };
    try {
      written = this.inTransaction(() =>
        this.db
          .transaction(() => {
            const event = this.append('DECIDED', body, null, null);
            return { event, checkpoint: this.signer ? this.writeCheckpoint(body.decided_at) : null };
          })
          .immediate(),
      );
    } catch (err) {
      // the unique index admits one decision per command: a concurrent decider got there first
      if (isUniqueViolation(err)) return null;
      this.noteFailure('DECIDED', body.command_id, err);
      throw new GateError(
        'store-write-failed',
        `audit store ${this.location}: the decision was not recorded: ${describeCause(err)}`,
        {
          cause: err,
          hint: 'the command must not run',
        },
      );
    }
    this.witnessed(written.checkpoint);
    return written.event;
  }

  record(body: OtherEventBody): StoredEvent | null {
    try {
      return this.append(body.type, body, null, null);
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      this.noteFailure(body.type, body.command_id, err, body.type === 'EXEC_END' ? body : undefined);
      throw new GateError(
        'store-write-failed',
        `audit store ${this.location}: the ${body.type} event was not recorded: ${describeCause(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * A write that failed is itself evidence: note it next to the store (or, when that directory
   * cannot be written either, in the system's temporary directory), for the next writer to
   * record as WRITE_FAILED. An event that states a fact which happened anyway (the end of a run)
   * is spooled whole and recorded late, after its WRITE_FAILED.
   */
  noteFailure(eventType: string, commandId: string | null, err: unknown, event?: ExecEndBody): void {
    const line = `${JSON.stringify({ failed_at: new Date().toISOString(), event_type: eventType, failed_command_id: commandId, error: describeCause(err).slice(0, 500), pid: process.pid, ...(event ? { event } : {}) })}\n`;
    for (const spool of [join(dirname(this.location), FAILURE_SPOOL), fallbackSpool(this.location)]) {
      try {
        appendFileSync(spool, line, { mode: 0o600 });
        return;
      } catch {
        /* try the next place */
      }
    }
    /* nowhere to write: the caller reports the failure */
  }

  /**
   * Record the failures spooled by earlier writers, then remove the spool. A writer claims a
   * spool by renaming it (one wins); a claim left by a writer that died or failed to record it
   * is taken over by the next one, so nothing spooled is lost while the store can be written.
   */
  private ingestFailures(): void {
    const dir = dirname(this.location);
    const spool = join(dir, FAILURE_SPOOL);
    adoptFallbackSpool(fallbackSpool(this.location), spool);
    const claims: string[] = [];
    const claim = (from: string): void => {
      const to = `${spool}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.ingesting`;
      try {
        renameSync(from, to);
        claims.push(to);
      } catch {
        /* another writer claimed it first */
      }
    };
    if (existsSync(spool)) claim(spool);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* unreadable directory: only the spool itself */
    }
    for (const name of names) {
      // claims are `<spool>.<pid>.<tag>.ingesting` (`<spool>.<pid>.ingesting` from older versions)
      const m = name.startsWith(`${FAILURE_SPOOL}.`)
        ? /^(\d+)(?:\.[a-z0-9]+)?\.ingesting$/.exec(name.slice(FAILURE_SPOOL.length + 1))
        : null;
      if (!m) continue;
      const pid = Number(m[1]);
      const path = join(dir, name);
      if (claims.includes(path)) continue;
      if (pid === process.pid || !processAlive(pid)) claim(path);
    }
    for (const claimed of claims) {
      try {
        this.recordSpooled(claimed);
      } catch (err) {
        // not recorded (the lock is held, the disk is full): hand the lines back to the spool
        // for the next writer, rather than keep them under this process's claim
        try {
          appendFileSync(spool, readFileSync(claimed), { mode: 0o600 });
          unlinkSync(claimed);
        } catch {
          /* left claimed: adopted once this process is gone */
        }
        throw err;
      }
    }
  }

  private recordSpooled(claimed: string): void {
    const lines = readFileSync(claimed, 'utf8').split('\n').filter(Boolean);
    const now = new Date().toISOString();
    this.inTransaction(() =>
      this.db
        .transaction(() => {
          for (const line of lines) {
            let f: {
              failed_at?: unknown;
              event_type?: unknown;
              failed_command_id?: unknown;
              error?: unknown;
              pid?: unknown;
              event?: unknown;
            };
            try {
              f = JSON.parse(line) as typeof f;
            } catch {
              f = { error: `unreadable spool line: ${line.slice(0, 200)}` };
            }
            this.append(
              'WRITE_FAILED',
              {
                type: 'WRITE_FAILED',
                command_id: null,
                at: now,
                failed_at: typeof f.failed_at === 'string' ? f.failed_at : now,
                event_type: typeof f.event_type === 'string' ? f.event_type : 'unknown',
                failed_command_id: typeof f.failed_command_id === 'string' ? f.failed_command_id : null,
                error: typeof f.error === 'string' ? f.error : 'unknown',
                pid: typeof f.pid === 'number' && Number.isSafeInteger(f.pid) ? f.pid : -1,
              },
              null,
              null,
            );
            const late = this.lateExecEnd(f.event);
            if (late) this.append('EXEC_END', late, null, null);
          }
        })
        .immediate(),
    );
    unlinkSync(claimed);
  }

  /** A spooled EXEC_END that ends a recorded start, not ended yet: recorded late, as it was. */
  private lateExecEnd(event: unknown): ExecEndBody | null {
    if (event === null || typeof event !== 'object') return null;
    const end = event as ExecEndBody;
    if (end.type !== 'EXEC_END' || typeof end.command_id !== 'string') return null;
    const start = this.db
      .prepare("SELECT body FROM events WHERE command_id = ? AND type = 'EXEC_START'")
      .get(end.command_id) as { body: Buffer } | undefined;
    if (!start || (JSON.parse(start.body.toString('utf8')) as ExecStartBody).started_at !== end.started_at) return null;
    const ended = this.db
      .prepare("SELECT 1 FROM events WHERE command_id = ? AND type = 'EXEC_END'")
      .get(end.command_id);
    if (ended) return null;
    return {
      type: 'EXEC_END',
      command_id: end.command_id,
      started_at: end.started_at,
      ended_at: String(end.ended_at),
      duration_ms: Number(end.duration_ms),
      exit_code: Number(end.exit_code),
      signal: typeof end.signal === 'string' ? end.signal : null,
      recording: end.recording ?? null,
      recording_error: typeof end.recording_error === 'string' ? end.recording_error : null,
    };
  }

  /**
   * Sign and store a checkpoint of the chain as it is now, unless the newest one already covers
   * every event, or is younger than `maxAgeMs` when given. Returns the newest checkpoint.
   */
  checkpoint(now: Date, maxAgeMs = 0): StoredCheckpoint | null {
    if (!this.signer) return null;
    const { written, last } = this.inTransaction(() =>
      this.db
        .transaction(() => {
          const last = this.latestCheckpoint();
          if (last && maxAgeMs > 0 && now.getTime() - Date.parse(last.at) < maxAgeMs) return { written: null, last };
          return { written: this.writeCheckpoint(now.toISOString()), last };
        })
        .immediate(),
    );
    this.witnessed(written);
    return written ?? last;
  }

  /**
   * Hand a checkpoint just committed to the witnesses, outside the write lock: inside an
   * enclosing transaction (atomically) it waits until that commits.
   */
  private witnessed(checkpoint: StoredCheckpoint | null): void {
    if (!checkpoint || !this.witness) return;
    if (this.db.inTransaction) this.unwitnessed.push(checkpoint.note);
    else this.witness(checkpoint.note);
  }

  private writeCheckpoint(at: string): StoredCheckpoint | null {
    const head = this.db.prepare('SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1').get() as
      { seq: number; chain: Buffer } | undefined;
    if (!head || !this.signer) return null;
    const last = this.latestCheckpoint();
    if (last && last.size >= head.seq) return null;
    const first = this.db.prepare('SELECT leaf FROM events WHERE seq = 1').get() as { leaf: Buffer } | undefined;
    const note = this.signer.signNote(checkpointBody(checkpointOrigin(first?.leaf ?? GENESIS), head.seq, head.chain));
    const info = this.db
      .prepare('INSERT INTO checkpoints (size, chain, at, note) VALUES (?, ?, ?, ?)')
      .run(head.seq, head.chain, at, note);
    return { id: Number(info.lastInsertRowid), size: head.seq, chain: head.chain, at, note };
  }

  latestCheckpoint(): StoredCheckpoint | null {
    return (
      (this.db.prepare('SELECT id, size, chain, at, note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as
        StoredCheckpoint | undefined) ?? null
    );
  }

  checkpoints(): StoredCheckpoint[] {
    return this.db.prepare('SELECT id, size, chain, at, note FROM checkpoints ORDER BY id').all() as StoredCheckpoint[];
  }

  /**
   * Submissions still pending whose deadline (wall clock) is before `now`, oldest first, at
   * most `limit` of them.
   */
  overdue(now: Date, limit = 100): { submitted: SubmittedBody; leaf: string }[] {
    const rows = this.db
      .prepare(
        `SELECT s.body AS body, s.leaf AS leaf FROM events s
           WHERE s.type = 'SUBMITTED' AND json_extract(CAST(s.body AS TEXT), '$.deadline') < ?
             AND NOT EXISTS (SELECT 1 FROM events d WHERE d.command_id = s.command_id AND d.type = 'DECIDED')
           ORDER BY s.seq LIMIT ?`,
      )
      .all(now.toISOString(), limit) as { body: Buffer; leaf: Buffer }[];
    return rows.map((r) => ({
      submitted: JSON.parse(r.body.toString('utf8')) as SubmittedBody,
      leaf: r.leaf.toString('hex'),
    }));
  }

  /** Events as stored, unparsed: what `verify` checks. */
  *rawEvents(): IterableIterator<RawEvent> {
    yield* this.db
      .prepare('SELECT seq, type, command_id, at, body AS bytes, leaf, chain FROM events ORDER BY seq')
      .iterate() as IterableIterator<RawEvent>;
  }

  /** The policy revisions decisions were made under. */
  policyRevisions(): string[] {
    const rows = this.db.prepare("SELECT body FROM events WHERE type = 'DECIDED'").all() as { body: Buffer }[];
    return [...new Set(rows.map((r) => (JSON.parse(r.body.toString('utf8')) as DecidedBody).policy_revision))];
  }

  eventCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  atomically<T>(fn: () => T, what = 'TRANSACTION'): T {
    let result: T;
    try {
      result = this.inTransaction(() => this.db.transaction(fn).immediate());
    } catch (err) {
      this.unwitnessed.length = 0; // rolled back: those checkpoints do not exist
      if (err instanceof GateError) throw err;
      if (isCorruption(err)) throw corrupted(this.location, err);
      if (sqliteCode(err) !== null) {
        // the transaction as a whole could not begin or commit: that failure is evidence too
        this.noteFailure(what, null, err);
        throw new GateError(
          'store-write-failed',
          `audit store ${this.location}: the write was not recorded: ${describeCause(err)}`,
          { cause: err, hint: 'the command must not run' },
        );
      }
      throw err;
    }
    if (!this.db.inTransaction) {
      const notes = this.unwitnessed.splice(0);
      if (notes.length > 0) this.witness?.(notes[notes.length - 1]!); // the newest covers the others
    }
    return result;
  }

  commandEvents(commandId: string): StoredEvent[] {
    return (
      this.db
        .prepare('SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id = ? ORDER BY seq')
        .all(commandId) as EventRow[]
    ).map(toEvent);
  }

  decision(commandId: string): DecidedBody | null {
    const row = this.statements.decided.get(commandId);
    return row ? (JSON.parse(row.body.toString('utf8')) as DecidedBody) : null;
  }

  command(commandId: string): CommandRecord | null {
    const row = this.statements.submitted.get(commandId);
    if (!row) return null;
    const body = (type: string): Buffer | null =>
      (
        this.db.prepare('SELECT body FROM events WHERE command_id = ? AND type = ?').get(commandId, type) as
          { body: Buffer } | undefined
      )?.body ?? null;
    return commandRecord(
      JSON.parse(row.body.toString('utf8')) as SubmittedBody,
      this.decision(commandId),
      parseBody<ExecStartBody>(body('EXEC_START')),
      parseBody<ExecEndBody>(body('EXEC_END')),
    );
  }

  sessionHistory(sessionId: string, now: Date, windowSeconds: number): SessionHistory {
    const nowIso = now.toISOString();
    const since = new Date(now.getTime() - windowSeconds * 1000).toISOString();
    const rows = this.db
      .prepare("SELECT at, programs FROM events WHERE type = 'SUBMITTED' AND session_id = ? AND at <= ?")
      .all(sessionId, nowIso) as { at: string; programs: string | null }[];
    const programs = new Set<string>();
    let recentCount = 0;
    for (const r of rows) {
      if (r.at >= since) recentCount++;
      for (const p of (r.programs ?? '').split(' ')) if (p) programs.add(p);
    }
    return { recentCount, programs, total: rows.length };
  }

  commands(filter: CommandFilter = {}): CommandRecord[] {
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
    const rows = this.db
      .prepare(
        `SELECT * FROM (SELECT s.seq AS seq, s.body AS submitted, d.body AS decided, xs.body AS started, xe.body AS ended FROM events s
           LEFT JOIN events d ON d.command_id = s.command_id AND d.type = 'DECIDED'
           LEFT JOIN events xs ON xs.command_id = s.command_id AND xs.type = 'EXEC_START'
           LEFT JOIN events xe ON xe.command_id = s.command_id AND xe.type = 'EXEC_END'
           WHERE ${where.join(' AND ')} ORDER BY s.seq DESC ${limit}) ORDER BY seq ASC`,
      )
      .all(...args) as { submitted: Buffer; decided: Buffer | null; started: Buffer | null; ended: Buffer | null }[];
    return rows.map((r) =>
      commandRecord(
        JSON.parse(r.submitted.toString('utf8')) as SubmittedBody,
        parseBody<DecidedBody>(r.decided),
        parseBody<ExecStartBody>(r.started),
        parseBody<ExecEndBody>(r.ended),
      ),
    );
  }

  events(fromSeq = 1): StoredEvent[] {
    const rows = this.db
      .prepare('SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE seq >= ? ORDER BY seq')
      .all(fromSeq) as EventRow[];
    return rows.map(toEvent);
  }

  /** For tests and `verify`: run a statement against the raw database. */
  raw(): BetterSqlite3.Database {
    return this.db;
  }

  close(): void {
    if (!this.db.open) return;
    const file = this.db.memory ? null : this.location;
    this.db.close();
    if (!this.readonly && file) {
      // this writer's own changes to the main file are not a reason for a full check next time
      const note = readProbe(file);
      if (note && !note.corrupt) noteProbe(file, note.checked_at);
    }
  }
}

function toEvent(r: EventRow): StoredEvent {
  return {
    seq: r.seq,
    type: r.type as StoredEvent['type'],
    command_id: r.command_id,
    at: r.at,
    body: JSON.parse(r.body.toString('utf8')) as EventBody,
    bytes: r.body,
    leaf: r.leaf.toString('hex'),
    chain: r.chain.toString('hex'),
  };
}

function parseBody<T>(bytes: Buffer | null): T | null {
  return bytes ? (JSON.parse(bytes.toString('utf8')) as T) : null;
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err as { code: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
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

function migrate(db: BetterSqlite3.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= MIGRATIONS.length && db.pragma('application_id', { simple: true }) === APPLICATION_ID) return;
  db.transaction(() => {
    // re-read inside the write lock: another process may have migrated meanwhile
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
    // stores made before the application id was set get it now (checkIdentity knew them)
    db.pragma(`application_id = ${APPLICATION_ID}`);
  }).immediate();
}

/**
 * Where failures are spooled when the store's directory cannot be written (a full disk): the
 * system's temporary directory, under a name derived from the store's path.
 */
export function fallbackSpool(storePath: string): string {
  return join(
    tmpdir(),
    `policy-gate-${createHash('sha256').update(storePath).digest('hex').slice(0, 16)}-${FAILURE_SPOOL}`,
  );
}

/** Move what was spooled in the temporary directory into the store's own spool. */
function adoptFallbackSpool(fallback: string, spool: string): void {
  if (!existsSync(fallback)) return;
  const claimed = `${fallback}.${process.pid}.adopting`;
  try {
    renameSync(fallback, claimed);
  } catch {
    return;
  }
  let lines: Buffer;
  try {
    lines = readFileSync(claimed);
  } catch {
    return;
  }
  for (const target of [spool, fallback]) {
    try {
      // appended, not renamed back: a writer may have spooled anew meanwhile
      appendFileSync(target, lines, { mode: 0o600 });
      unlinkSync(claimed);
      return;
    } catch {
      /* the store's directory is still unwritable: back where it was */
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The busy timeout of one attempt at the lock: short rounds, so a writer can back off between them. */
function attemptTimeout(lockTimeoutMs: number): number {
  return Math.max(0, Math.min(lockTimeoutMs, 1000));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** A synchronous pause (the store's API is synchronous, like the driver's). */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code !== null && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * Run a write transaction, retrying while another writer holds the lock, until `timeoutMs` has
 * passed: each attempt waits up to a second in SQLite's busy handler, then the writer backs off
 * for a random 5–50 ms before the next one.
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
  const db = new Database(image, { readonly: true, ...nativeBinding() });
  return db;
}

/**
 * Refuse a database that is neither empty nor a policy-gate store: another application's file
 * is never migrated, switched to WAL or written to. Stores made before the application id
 * existed are known by their events table. A store from a newer version is refused too.
 */
function checkIdentity(db: BetterSqlite3.Database, path: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const foreign = (why: string): never => {
    throw new GateError('store-unavailable', `${path} is not a policy-gate audit store (${why}): it is left as it is`, {
      hint: 'the command must not run; point --store / POLICY_GATE_STORE at a policy-gate store or a new path',
    });
  };
  if (appId !== APPLICATION_ID) {
    if (appId !== 0) foreign(`application_id 0x${(appId >>> 0).toString(16)}`);
    const objects = db.prepare("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").all().length;
    if (objects > 0 || version !== 0) {
      const columns = (db.prepare("SELECT name FROM pragma_table_info('events')").all() as { name: string }[])
        .map((c) => c.name)
        .join(',');
      if (columns !== 'seq,type,command_id,session_id,at,programs,body,leaf,chain' || version < 1)
        foreign('it holds other tables');
    }
  }
  if (version > MIGRATIONS.length) {
    throw new GateError(
      'store-unavailable',
      `audit store ${path} was written by a newer policy-gate (schema version ${version}; this one knows up to ${MIGRATIONS.length})`,
      {
        hint: 'the command must not run; use the policy-gate version that wrote it, or a newer one',
      },
    );
  }
}

/** A schema object's SQL as compared: whitespace runs as one space. */
const normalSql = (sql: string): string => sql.replace(/\s+/g, ' ').trim();

let expectedSchema: Map<string, string> | null = null;

/**
 * Tables, indexes and triggers as this version's migrations create them, by "type name", in the
 * form SQLite keeps them in sqlite_schema: the statement as written, without `IF NOT EXISTS` and
 * the final semicolon (SQLite's documented normalisation). Read from the migrations' text, so
 * checking a store costs no scratch database at every start.
 */
function migrationSchema(): Map<string, string> {
  if (expectedSchema) return expectedSchema;
  expectedSchema = new Map();
  for (const migration of MIGRATIONS) {
    // statements end at a semicolon before the next CREATE (a trigger's body has its own)
    for (const statement of migration.split(/;\s*(?=CREATE\b)|;\s*$/)) {
      const sql = normalSql(statement.replace(/\bIF NOT EXISTS /, ''));
      const m = /^CREATE (?:UNIQUE )?(TABLE|INDEX|TRIGGER) (\w+)/.exec(sql);
      if (m) expectedSchema.set(`${m[1]!.toLowerCase()} ${m[2]!}`, sql);
    }
  }
  return expectedSchema;
}

/** Tables, indexes and triggers of a store, by "type name". */
function schemaOf(db: BetterSqlite3.Database): Map<string, string> {
  const rows = db
    .prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")
    .all() as { type: string; name: string; sql: string }[];
  return new Map(rows.map((r) => [`${r.type} ${r.name}`, normalSql(r.sql)]));
}

/**
 * How the store's schema differs from the one its migrations make: a dropped or rewritten
 * trigger (append-only no more), a dropped one-per-command index, or a trigger added (one that
 * could drop events as they are written). Extra indexes and tables change nothing recorded.
 */
export function schemaDifferences(db: BetterSqlite3.Database): string[] {
  const expected = migrationSchema();
  const actual = schemaOf(db);
  const problems: string[] = [];
  for (const [name, sql] of expected) {
    const found = actual.get(name);
    if (found === undefined) problems.push(`${name} is missing`);
    else if (found !== sql) problems.push(`${name} was changed`);
  }
  for (const name of actual.keys())
    if (name.startsWith('trigger ') && !expected.has(name)) problems.push(`${name} was added`);
  return problems;
}

/** What identifies the state of the main database file: it changes whenever anything writes it. */
function fileStamp(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

interface ProbeNote {
  readonly stamp: string;
  readonly checked_at: number;
  /** A check found the file damaged: every writer checks in full until one finds it whole. */
  readonly corrupt?: boolean;
}

const probeFile = (path: string): string => join(dirname(path), `.${basename(path)}.probe`);

function readProbe(path: string): ProbeNote | null {
  try {
    const note = JSON.parse(readFileSync(probeFile(path), 'utf8')) as ProbeNote;
    return typeof note.stamp === 'string' && typeof note.checked_at === 'number' ? note : null;
  } catch {
    return null;
  }
}

/**
 * Note the main file's state as this writer leaves it. In WAL mode the gate writes the main
 * file only when it merges the log (at the latest when its last connection closes), so a
 * different state at the next open means the file was written by something else.
 */
function noteProbe(path: string, checkedAt: number): void {
  try {
    writeFileSync(probeFile(path), JSON.stringify({ stamp: fileStamp(path), checked_at: checkedAt }), { mode: 0o600 });
  } catch {
    /* the next writer checks the whole file instead */
  }
}

/**
 * The integrity probe at open, cheap when nothing happened: when the main database file was
 * written by something other than the gate since a gate writer last closed it (or a day has
 * passed, or there is no note), run `PRAGMA quick_check` over the whole file before writing.
 */
function probeIntegrity(db: BetterSqlite3.Database, path: string): void {
  const note = readProbe(path);
  const now = Date.now();
  if (
    note &&
    !note.corrupt &&
    note.stamp === fileStamp(path) &&
    now - note.checked_at < QUICK_CHECK_INTERVAL_MS &&
    now >= note.checked_at
  )
    return;
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  const result = rows.map((r) => r.quick_check).join('; ');
  if (result !== 'ok') {
    try {
      writeFileSync(probeFile(path), JSON.stringify({ stamp: fileStamp(path), checked_at: now, corrupt: true }), {
        mode: 0o600,
      });
    } catch {
      /* every writer checks in full anyway while the file stays as it is */
    }
    throw new GateError(
      'store-corrupt',
      `audit store ${path} is corrupted: PRAGMA quick_check: ${result.slice(0, 300)}`,
      {
        hint: 'the command must not run; run `policy-gate verify` to find the first bad page, and restore the store from a copy',
      },
    );
  }
  noteProbe(path, now);
}
