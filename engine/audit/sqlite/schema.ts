/**
 * The SQLite schema: migrations by `PRAGMA user_version`, the application id that marks a
 * policy-gate store, and the check that its protections (append-only triggers, one-per-command
 * indexes) are as the migrations made them.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { GateError } from '../../util/errors.js';

/**
 * `PRAGMA application_id` of a policy-gate store ("pgat"): a database that is not empty and
 * does not carry it is another application's, and is never taken over.
 */
export const APPLICATION_ID = 0x70676174;

/** Schema migrations by `PRAGMA user_version`; each runs once, in order, in one transaction. */
export const MIGRATIONS: readonly string[] = [
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
  // the few events of no command (passkeys registered, the gate started), without a scan of the trail
  `CREATE INDEX IF NOT EXISTS events_gate ON events(type, seq) WHERE command_id IS NULL;`,
];

export function migrate(db: BetterSqlite3.Database): void {
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
 * Refuse a database that is neither empty nor a policy-gate store: another application's file
 * is never migrated, switched to WAL or written to. Stores made before the application id
 * existed are known by their events table. A store from a newer version is refused too.
 */
export function checkIdentity(db: BetterSqlite3.Database, path: string): void {
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
