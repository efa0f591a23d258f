/**
 * The audit trail in SQLite: WAL with synchronous=FULL, every write in a BEGIN IMMEDIATE
 * transaction, one append-only `events` table whose triggers refuse UPDATE and DELETE. Each
 * event is stored as canonical bytes and hash-chained to the previous one:
 *   leaf  = SHA-256(0x00 ‖ bytes)
 *   chain = SHA-256("policy-gate/chain/v1" ‖ previous chain ‖ leaf), genesis = 32 zero bytes.
 */
import { makeDirectories } from '../fsutil.js';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { GateError, describeCause } from '../errors.js';
import type { SessionHistory } from '../risk/context.js';
import { canonicalJson, type Canonical } from './canonical.js';
import { checkpointBody, type CheckpointSigner } from './checkpoint.js';
import { commandRecord, eventTime, type CommandRecord, type DecidedBody, type EventBody, type ExecEndBody, type ExecStartBody, type StoredEvent, type SubmittedBody } from './events.js';
import type { AuditStore, CommandFilter, OtherEventBody } from './store.js';

const require = createRequire(import.meta.url);

/** Failed writes, noted next to the store until the next writer records them. */
export const FAILURE_SPOOL = 'write-failures.jsonl';

export const CHAIN_TAG = Buffer.from('policy-gate/chain/v1', 'utf8');
export const GENESIS = Buffer.alloc(32);

export function leafHash(bytes: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from([0])).update(bytes).digest();
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
  /** How long a writer waits for the lock before giving up (ms). */
  readonly busyTimeoutMs?: number;
  /** Open an existing store for reading only; never create or migrate. */
  readonly readonly?: boolean;
  /** Sign a checkpoint after every decision (in the decision's transaction). */
  readonly signer?: CheckpointSigner;
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
  return new GateError('store-unavailable', `audit store ${path}: cannot ${action}: ${describeCause(err)}`, {
    cause: err,
    hint: 'the command must not run; check the store path (--store / POLICY_GATE_STORE) and its permissions',
  });
}

export class SqliteAuditStore implements AuditStore {
  private readonly db: BetterSqlite3.Database;
  private readonly statements: {
    last: BetterSqlite3.Statement<[], { chain: Buffer } | undefined>;
    insert: BetterSqlite3.Statement<[string, string | null, string | null, string, string | null, Buffer, Buffer, Buffer]>;
    decided: BetterSqlite3.Statement<[string], { body: Buffer } | undefined>;
    submitted: BetterSqlite3.Statement<[string], EventRow | undefined>;
  };

  private readonly signer: CheckpointSigner | null;

  private constructor(
    readonly location: string,
    db: BetterSqlite3.Database,
    signer: CheckpointSigner | null,
  ) {
    this.db = db;
    this.signer = signer;
    this.statements = {
      last: db.prepare('SELECT chain FROM events ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare('INSERT INTO events (type, command_id, session_id, at, programs, body, leaf, chain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      decided: db.prepare("SELECT body FROM events WHERE command_id = ? AND type = 'DECIDED'"),
      submitted: db.prepare("SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id = ? AND type = 'SUBMITTED'"),
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
    let db: BetterSqlite3.Database;
    try {
      db = new Database(path, { readonly, fileMustExist: readonly, timeout: options.busyTimeoutMs ?? 5000, ...nativeBinding() });
    } catch (err) {
      throw unavailable(path, err, 'open it');
    }
    try {
      if (fresh) chmodSync(path, 0o600);
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        migrate(db);
      } else if ((db.pragma('user_version', { simple: true }) as number) < MIGRATIONS.length) {
        throw new Error('the store was written by an older version: open it once for writing to migrate');
      }
    } catch (err) {
      db.close();
      throw unavailable(path, err, readonly ? 'read it' : 'prepare it for writing');
    }
    const store = new SqliteAuditStore(path, db, options.signer ?? null);
    if (!readonly) {
      try {
        store.ingestFailures();
      } catch {
        /* recorded next time: a failure to record failures must not stop this writer */
      }
    }
    return store;
  }

  private append(type: EventBody['type'], body: EventBody, sessionId: string | null, programs: string | null): StoredEvent {
    const bytes = Buffer.from(canonicalJson(body as unknown as Canonical), 'utf8');
    const leaf = leafHash(bytes);
    const at = eventTime(body);
    const write = this.db.transaction(() => {
      const previous = this.statements.last.get()?.chain ?? GENESIS;
      const chain = chainHash(previous, leaf);
      const info = this.statements.insert.run(type, body.command_id, sessionId, at, programs, bytes, leaf, chain);
      return { seq: Number(info.lastInsertRowid), chain };
    });
    const { seq, chain } = write.immediate();
    return { seq, type, command_id: body.command_id, at, body, bytes, leaf: leaf.toString('hex'), chain: chain.toString('hex') };
  }

  submit(body: SubmittedBody): StoredEvent {
    const programs = [...new Set(body.segments.map((s) => s.program).filter((p): p is string => p !== null))].join(' ');
    try {
      return this.append('SUBMITTED', body, body.session_id, programs);
    } catch (err) {
      this.spoolFailure('SUBMITTED', body.command_id, err);
      throw new GateError('store-write-failed', `audit store ${this.location}: the submission was not recorded: ${describeCause(err)}`, {
        cause: err,
        hint: 'the command must not run',
      });
    }
  }

  decide(body: DecidedBody): StoredEvent | null {
    try {
      if (!this.signer) return this.append('DECIDED', body, null, null);
      return this.db
        .transaction(() => {
          const event = this.append('DECIDED', body, null, null);
          this.writeCheckpoint(body.decided_at);
          return event;
        })
        .immediate();
    } catch (err) {
      // the unique index admits one decision per command: a concurrent decider got there first
      if (isUniqueViolation(err)) return null;
      this.spoolFailure('DECIDED', body.command_id, err);
      throw new GateError('store-write-failed', `audit store ${this.location}: the decision was not recorded: ${describeCause(err)}`, {
        cause: err,
        hint: 'the command must not run',
      });
    }
  }

  record(body: OtherEventBody): StoredEvent | null {
    try {
      return this.append(body.type, body, null, null);
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      this.spoolFailure(body.type, body.command_id, err);
      throw new GateError('store-write-failed', `audit store ${this.location}: the ${body.type} event was not recorded: ${describeCause(err)}`, { cause: err });
    }
  }

  /**
   * A write that failed is itself evidence: note it next to the store (best effort: the
   * directory may be as broken as the database), for the next writer to record as WRITE_FAILED.
   */
  private spoolFailure(eventType: string, commandId: string | null, err: unknown): void {
    const line = JSON.stringify({ failed_at: new Date().toISOString(), event_type: eventType, failed_command_id: commandId, error: describeCause(err).slice(0, 500), pid: process.pid });
    try {
      appendFileSync(join(dirname(this.location), FAILURE_SPOOL), `${line}\n`, { mode: 0o600 });
    } catch {
      /* nowhere to write: the caller reports the failure and the command does not run */
    }
  }

  /** Record the failures spooled by earlier writers, then remove the spool. */
  private ingestFailures(): void {
    const spool = join(dirname(this.location), FAILURE_SPOOL);
    if (!existsSync(spool)) return;
    const claimed = `${spool}.${process.pid}.ingesting`;
    try {
      renameSync(spool, claimed); // one writer claims it
    } catch {
      return;
    }
    const lines = readFileSync(claimed, 'utf8').split('\n').filter(Boolean);
    const now = new Date().toISOString();
    this.db
      .transaction(() => {
        for (const line of lines) {
          let f: { failed_at?: unknown; event_type?: unknown; failed_command_id?: unknown; error?: unknown; pid?: unknown };
          try {
            f = JSON.parse(line) as typeof f;
          } catch {
            f = { error: `unreadable spool line: ${line.slice(0, 200)}` };
          }
          this.append('WRITE_FAILED', {
            type: 'WRITE_FAILED',
            command_id: null,
            at: now,
            failed_at: typeof f.failed_at === 'string' ? f.failed_at : now,
            event_type: typeof f.event_type === 'string' ? f.event_type : 'unknown',
            failed_command_id: typeof f.failed_command_id === 'string' ? f.failed_command_id : null,
            error: typeof f.error === 'string' ? f.error : 'unknown',
            pid: typeof f.pid === 'number' && Number.isSafeInteger(f.pid) ? f.pid : -1,
          }, null, null);
        }
      })
      .immediate();
    unlinkSync(claimed);
  }

  /**
   * Sign and store a checkpoint of the chain as it is now, unless the newest one already covers
   * every event, or is younger than `maxAgeMs` when given. Returns the newest checkpoint.
   */
  checkpoint(now: Date, maxAgeMs = 0): StoredCheckpoint | null {
    if (!this.signer) return null;
    return this.db
      .transaction(() => {
        const last = this.latestCheckpoint();
        if (last && maxAgeMs > 0 && now.getTime() - Date.parse(last.at) < maxAgeMs) return last;
        return this.writeCheckpoint(now.toISOString()) ?? last;
      })
      .immediate();
  }

  private writeCheckpoint(at: string): StoredCheckpoint | null {
    const head = this.db.prepare('SELECT seq, chain FROM events ORDER BY seq DESC LIMIT 1').get() as { seq: number; chain: Buffer } | undefined;
    if (!head || !this.signer) return null;
    const last = this.latestCheckpoint();
    if (last && last.size >= head.seq) return null;
    const first = this.db.prepare('SELECT leaf FROM events WHERE seq = 1').get() as { leaf: Buffer } | undefined;
    const note = this.signer.signNote(checkpointBody(checkpointOrigin(first?.leaf ?? GENESIS), head.seq, head.chain));
    const info = this.db.prepare('INSERT INTO checkpoints (size, chain, at, note) VALUES (?, ?, ?, ?)').run(head.seq, head.chain, at, note);
    return { id: Number(info.lastInsertRowid), size: head.seq, chain: head.chain, at, note };
  }

  latestCheckpoint(): StoredCheckpoint | null {
    return (this.db.prepare('SELECT id, size, chain, at, note FROM checkpoints ORDER BY id DESC LIMIT 1').get() as StoredCheckpoint | undefined) ?? null;
  }

  checkpoints(): StoredCheckpoint[] {
    return this.db.prepare('SELECT id, size, chain, at, note FROM checkpoints ORDER BY id').all() as StoredCheckpoint[];
  }

  /** Events as stored, unparsed: what `verify` checks. */
  *rawEvents(): IterableIterator<RawEvent> {
    yield* this.db.prepare('SELECT seq, type, command_id, at, body AS bytes, leaf, chain FROM events ORDER BY seq').iterate() as IterableIterator<RawEvent>;
  }

  /** The policy revisions decisions were made under. */
  policyRevisions(): string[] {
    const rows = this.db.prepare("SELECT body FROM events WHERE type = 'DECIDED'").all() as { body: Buffer }[];
    return [...new Set(rows.map((r) => (JSON.parse(r.body.toString('utf8')) as DecidedBody).policy_revision))];
  }

  eventCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  atomically<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      if (err instanceof GateError) throw err;
      if (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_')) {
        throw new GateError('store-write-failed', `audit store ${this.location}: ${describeCause(err)}`, { cause: err });
      }
      throw err;
    }
  }

  commandEvents(commandId: string): StoredEvent[] {
    return (this.db.prepare('SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE command_id = ? ORDER BY seq').all(commandId) as EventRow[]).map(toEvent);
  }

  decision(commandId: string): DecidedBody | null {
    const row = this.statements.decided.get(commandId);
    return row ? (JSON.parse(row.body.toString('utf8')) as DecidedBody) : null;
  }

  command(commandId: string): CommandRecord | null {
    const row = this.statements.submitted.get(commandId);
    if (!row) return null;
    const body = (type: string): Buffer | null => (this.db.prepare('SELECT body FROM events WHERE command_id = ? AND type = ?').get(commandId, type) as { body: Buffer } | undefined)?.body ?? null;
    return commandRecord(JSON.parse(row.body.toString('utf8')) as SubmittedBody, this.decision(commandId), parseBody<ExecStartBody>(body('EXEC_START')), parseBody<ExecEndBody>(body('EXEC_END')));
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
      commandRecord(JSON.parse(r.submitted.toString('utf8')) as SubmittedBody, parseBody<DecidedBody>(r.decided), parseBody<ExecStartBody>(r.started), parseBody<ExecEndBody>(r.ended)),
    );
  }

  events(fromSeq = 1): StoredEvent[] {
    const rows = this.db.prepare('SELECT seq, type, command_id, at, body, leaf, chain FROM events WHERE seq >= ? ORDER BY seq').all(fromSeq) as EventRow[];
    return rows.map(toEvent);
  }

  /** For tests and `verify`: run a statement against the raw database. */
  raw(): BetterSqlite3.Database {
    return this.db;
  }

  close(): void {
    if (this.db.open) this.db.close();
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
  if (current >= MIGRATIONS.length) return;
  db.transaction(() => {
    // re-read inside the write lock: another process may have migrated meanwhile
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
