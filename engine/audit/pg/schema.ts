/**
 * The PostgreSQL schema of the audit trail (issue 14): the same events and checkpoints as the
 * SQLite store, in a schema of their own (`policy_gate`), with the same one-per-command unique
 * indexes and append-only triggers, plus what many writers need: an advisory lock every append
 * transaction takes first (so appends from any process serialise) and a one-row chain head the
 * database moves on every append (so the sequence cannot gap or fork, whoever writes), and
 * NOTIFY on append so waiting gates learn of decisions at commit.
 *
 * Migrations are versioned in `policy_gate.schema_version` and applied explicitly
 * (`policy-gate store migrate`, as the owning role); a gate refuses a store whose version is
 * newer than it knows. The gate's own role is granted SELECT and INSERT only.
 */

/** The NOTIFY channel appends are announced on: payload `seq:type:command_id`. */
export const NOTIFY_CHANNEL = 'policy_gate_events';

/** The transaction-scoped advisory lock every append takes first: one writer at a time, in any process. */
export const APPEND_LOCK = 0x70676174; // "pgat"

/** Migrations by version (index + 1); each runs once, in order, in one transaction. */
export const PG_MIGRATIONS: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS policy_gate;
   CREATE TABLE policy_gate.events (
     seq        BIGINT PRIMARY KEY CHECK (seq > 0),
     type       TEXT NOT NULL,
     command_id TEXT,
     session_id TEXT,
     at         TEXT NOT NULL,
     programs   TEXT,
     -- a pending command's deadline, from its body (the next writer times out the overdue)
     deadline   TEXT,
     body       BYTEA NOT NULL,
     leaf       BYTEA NOT NULL,
     chain      BYTEA NOT NULL
   );
   CREATE UNIQUE INDEX events_one_submitted ON policy_gate.events(command_id) WHERE type = 'SUBMITTED';
   CREATE UNIQUE INDEX events_one_decided ON policy_gate.events(command_id) WHERE type = 'DECIDED';
   CREATE UNIQUE INDEX events_one_exec_start ON policy_gate.events(command_id) WHERE type = 'EXEC_START';
   CREATE UNIQUE INDEX events_one_exec_end ON policy_gate.events(command_id) WHERE type = 'EXEC_END';
   CREATE INDEX events_session ON policy_gate.events(session_id, at) INCLUDE (programs) WHERE type = 'SUBMITTED';
   CREATE INDEX events_command ON policy_gate.events(command_id, seq);
   CREATE INDEX events_gate ON policy_gate.events(type, seq) WHERE command_id IS NULL;
   CREATE INDEX events_deadline ON policy_gate.events(deadline) WHERE type = 'SUBMITTED' AND deadline IS NOT NULL;
   CREATE TABLE policy_gate.checkpoints (
     id    BIGSERIAL PRIMARY KEY,
     size  BIGINT NOT NULL,
     chain BYTEA NOT NULL,
     at    TEXT NOT NULL,
     note  TEXT NOT NULL
   );
   -- the chain head: one row, updated by every append in its own transaction
   CREATE TABLE policy_gate.head (
     one   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
     seq   BIGINT NOT NULL,
     chain BYTEA
   );
   INSERT INTO policy_gate.head (seq, chain) VALUES (0, NULL);
   CREATE FUNCTION policy_gate.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION '% are append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$;
   CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON policy_gate.events
     FOR EACH ROW EXECUTE FUNCTION policy_gate.append_only();
   CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON policy_gate.events
     FOR EACH STATEMENT EXECUTE FUNCTION policy_gate.append_only();
   CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON policy_gate.checkpoints
     FOR EACH ROW EXECUTE FUNCTION policy_gate.append_only();
   CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON policy_gate.checkpoints
     FOR EACH STATEMENT EXECUTE FUNCTION policy_gate.append_only();
   -- an append must extend the head by exactly one: no gap, no fork, whoever writes
   -- (as its owner: the gate's role may read the head, never move it itself)
   CREATE FUNCTION policy_gate.extend_head() RETURNS trigger LANGUAGE plpgsql
     SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
     DECLARE moved BIGINT;
     BEGIN
       UPDATE policy_gate.head SET seq = NEW.seq, chain = NEW.chain WHERE seq = NEW.seq - 1 RETURNING seq INTO moved;
       IF moved IS NULL THEN
         RAISE EXCEPTION 'event % does not extend the chain head', NEW.seq USING ERRCODE = 'serialization_failure';
       END IF;
       PERFORM pg_notify('${NOTIFY_CHANNEL}', NEW.seq || ':' || NEW.type || ':' || coalesce(NEW.command_id, ''));
       RETURN NEW;
     END $$;
   CREATE TRIGGER events_extend_head BEFORE INSERT ON policy_gate.events
     FOR EACH ROW EXECUTE FUNCTION policy_gate.extend_head();`,
];

/** The statements that create the version table (idempotent; run before migrating). */
export const VERSION_TABLE = `CREATE SCHEMA IF NOT EXISTS policy_gate;
  CREATE TABLE IF NOT EXISTS policy_gate.schema_version (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );`;

/** Grants for the gate's role: read and append, never change or remove. */
export function grantsFor(role: string): string {
  const r = `"${role.replace(/"/g, '""')}"`;
  return `GRANT USAGE ON SCHEMA policy_gate TO ${r};
    GRANT SELECT, INSERT ON policy_gate.events, policy_gate.checkpoints TO ${r};
    GRANT SELECT ON policy_gate.head TO ${r};
    GRANT USAGE ON SEQUENCE policy_gate.checkpoints_id_seq TO ${r};
    GRANT SELECT ON policy_gate.schema_version TO ${r};
    REVOKE UPDATE, DELETE, TRUNCATE ON policy_gate.events, policy_gate.checkpoints, policy_gate.head FROM ${r};`;
}
