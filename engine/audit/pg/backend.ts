/**
 * The audit trail in PostgreSQL. The trail (trail.ts) encodes, hashes and chains; this backend
 * writes SQL only. Every write transaction first takes the append lock (a transaction-scoped
 * advisory lock), so appends from any number of processes and replicas serialise and extend one
 * sequence; the database itself refuses an append that does not extend the head by one
 * (schema.ts). Connections come from a pool: a connection lost with the server (a restart, a
 * failover) is replaced by the next operation, and an operation whose outcome the connection took
 * with it is classified 'transient' so the trail retries it idempotently.
 */
import type pg from 'pg';
import type { EncodedEvent, RawEvent, StoredCheckpoint } from '../chain.js';
import type { AuditBackend, BackendErrorKind, BackendTransaction, CopiedEvent } from '../backend.js';
import { eventFromRow, recordFromBodies, type EventRow, type LifecycleBodies } from '../rows.js';
import type { AuditReader, CommandFilter, Integrity } from '../store.js';
import { AuditTrail } from '../trail.js';
import type { CheckpointSigner } from '../checkpoint.js';
import type { CommandRecord, DecidedBody, GateEventType, StoredEvent, SubmittedBody } from '../../model/events.js';
import type { SessionHistory } from '../../model/history.js';
import { GateError, describeCause } from '../../util/errors.js';
import { withoutPassword } from '../../util/store-path.js';
import { APPEND_LOCK, grantsFor, PG_MIGRATIONS, VERSION_TABLE } from './schema.js';

export interface PgStoreOptions {
  /** Create or upgrade the schema (`policy-gate store migrate`); otherwise it must be current. */
  readonly migrate?: boolean;
  /** Open for reading only: no write transaction is begun. */
  readonly readonly?: boolean;
  readonly signer?: CheckpointSigner | undefined;
  readonly witness?: ((note: string) => void) | undefined;
  /** The gate's local state directory (the failed-write spool). */
  readonly stateDir: string;
  /** How long an append waits for the append lock (POLICY_GATE_LOCK_TIMEOUT); 10 s by default. */
  readonly lockTimeoutMs?: number | undefined;
}

/** Open the PostgreSQL store at `url` as an audit trail. */
export async function openPgStore(url: string, options: PgStoreOptions): Promise<AuditTrail> {
  const backend = await PgBackend.open(url, options);
  return new AuditTrail(backend, { stateDir: options.stateDir, signer: options.signer, witness: options.witness });
}

/** Connections per store: the trail runs one operation at a time, a server's reads beside it. */
const POOL_SIZE = 4;

/** Load node-postgres (bundled in a chunk of its own: only a PostgreSQL store loads it). */
export async function loadPg(): Promise<typeof pg> {
  const mod = (await import('pg')) as unknown as { default?: typeof pg } & typeof pg;
  return mod.default ?? mod;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

const EVENT_COLUMNS = 'seq, type, command_id, at, body, leaf, chain';

type Run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

/** The trail's reads in SQL, over the pool or over one transaction's connection. */
class PgReader implements AuditReader {
  constructor(protected readonly run: Run) {}

  // ---- reads --------------------------------------------------------------------------------

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const [row] = await this.run<CheckpointRow>(
      'SELECT id, size, chain, at, note FROM policy_gate.checkpoints ORDER BY id DESC LIMIT 1',
    );
    return row ? checkpoint(row) : null;
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    return (
      await this.run<CheckpointRow>('SELECT id, size, chain, at, note FROM policy_gate.checkpoints ORDER BY id')
    ).map(checkpoint);
  }

  async overdue(now: Date, limit = 100): Promise<{ submitted: SubmittedBody; leaf: string }[]> {
    const rows = await this.run<{ body: Buffer; leaf: Buffer }>(
      `SELECT s.body, s.leaf FROM policy_gate.events s
        WHERE s.type = 'SUBMITTED' AND s.deadline IS NOT NULL AND s.deadline < $1
          AND NOT EXISTS (SELECT 1 FROM policy_gate.events d WHERE d.command_id = s.command_id AND d.type = 'DECIDED')
        ORDER BY s.seq LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map((r) => ({
      submitted: JSON.parse(r.body.toString('utf8')) as SubmittedBody,
      leaf: r.leaf.toString('hex'),
    }));
  }

  async *rawEvents(): AsyncIterable<RawEvent> {
    // in pages by sequence: a million events never sit in memory at once
    for (let after = 0; ;) {
      const rows = await this.run<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM policy_gate.events WHERE seq > $1 ORDER BY seq LIMIT 5000`,
        [after],
      );
      if (rows.length === 0) return;
      for (const r of rows) {
        const seq = Number(r.seq);
        yield { seq, type: r.type, command_id: r.command_id, at: r.at, bytes: r.body, leaf: r.leaf, chain: r.chain };
        after = seq;
      }
    }
  }

  async policyRevisions(): Promise<string[]> {
    const rows = await this.run<{ revision: string | null }>(
      `SELECT convert_from(body, 'UTF8')::jsonb ->> 'policy_revision' AS revision FROM policy_gate.events
        WHERE type = 'DECIDED' GROUP BY revision ORDER BY min(seq)`,
    );
    return rows.flatMap((r) => (typeof r.revision === 'string' ? [r.revision] : []));
  }

  async eventCount(): Promise<number> {
    const [row] = await this.run<{ seq: string }>('SELECT seq FROM policy_gate.head');
    return Number(row?.seq ?? 0);
  }

  async commandEvents(commandId: string): Promise<StoredEvent[]> {
    return (
      await this.run<EventRow>(`SELECT ${EVENT_COLUMNS} FROM policy_gate.events WHERE command_id = $1 ORDER BY seq`, [
        commandId,
      ])
    ).map(eventFromRow);
  }

  async decision(commandId: string): Promise<DecidedBody | null> {
    const [row] = await this.run<{ body: Buffer }>(
      "SELECT body FROM policy_gate.events WHERE command_id = $1 AND type = 'DECIDED'",
      [commandId],
    );
    return row ? (JSON.parse(row.body.toString('utf8')) as DecidedBody) : null;
  }

  async command(commandId: string): Promise<CommandRecord | null> {
    const rows = await this.run<{ type: string; body: Buffer }>(
      `SELECT type, body FROM policy_gate.events WHERE command_id = $1
          AND type IN ('SUBMITTED', 'DECIDED', 'EXEC_START', 'EXEC_END')`,
      [commandId],
    );
    const body = (type: string): Buffer | null => rows.find((r) => r.type === type)?.body ?? null;
    const submitted = body('SUBMITTED');
    if (!submitted) return null;
    return recordFromBodies({
      submitted,
      decided: body('DECIDED'),
      started: body('EXEC_START'),
      ended: body('EXEC_END'),
    });
  }

  async sessionHistory(sessionId: string, now: Date, windowSeconds: number): Promise<SessionHistory> {
    const since = new Date(now.getTime() - windowSeconds * 1000).toISOString();
    const rows = await this.run<{ programs: string | null; n: string; recent: string }>(
      `SELECT programs, count(*) AS n, count(*) FILTER (WHERE at >= $1) AS recent FROM policy_gate.events
        WHERE type = 'SUBMITTED' AND session_id = $2 AND at <= $3 GROUP BY programs`,
      [since, sessionId, now.toISOString()],
    );
    const programs = new Set<string>();
    let recentCount = 0;
    let total = 0;
    for (const r of rows) {
      recentCount += Number(r.recent);
      total += Number(r.n);
      for (const p of (r.programs ?? '').split(' ')) if (p) programs.add(p);
    }
    return { recentCount, programs, total };
  }

  async commands(filter: CommandFilter = {}): Promise<CommandRecord[]> {
    const where: string[] = ["s.type = 'SUBMITTED'"];
    const args: unknown[] = [];
    if (filter.session !== undefined) {
      args.push(filter.session);
      where.push(`s.session_id = $${args.length}`);
    }
    if (filter.since !== undefined) {
      args.push(filter.since);
      where.push(`s.at >= $${args.length}`);
    }
    if (filter.decision !== undefined) {
      if (filter.decision === 'pending') where.push('d.seq IS NULL');
      else {
        args.push(filter.decision);
        where.push(`convert_from(d.body, 'UTF8')::jsonb ->> 'decision' = $${args.length}`);
      }
    }
    const limit = filter.limit !== undefined ? `LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const rows = await this.run<LifecycleBodies>(
      `SELECT * FROM (SELECT s.seq AS seq, s.body AS submitted, d.body AS decided, xs.body AS started, xe.body AS ended
           FROM policy_gate.events s
           LEFT JOIN policy_gate.events d ON d.command_id = s.command_id AND d.type = 'DECIDED'
           LEFT JOIN policy_gate.events xs ON xs.command_id = s.command_id AND xs.type = 'EXEC_START'
           LEFT JOIN policy_gate.events xe ON xe.command_id = s.command_id AND xe.type = 'EXEC_END'
          WHERE ${where.join(' AND ')} ORDER BY s.seq DESC ${limit}) page ORDER BY seq ASC`,
      args,
    );
    return rows.map(recordFromBodies);
  }

  async gateEvents(type: GateEventType): Promise<StoredEvent[]> {
    return (
      await this.run<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM policy_gate.events WHERE command_id IS NULL AND type = $1 ORDER BY seq`,
        [type],
      )
    ).map(eventFromRow);
  }

  async events(fromSeq = 1): Promise<StoredEvent[]> {
    return (
      await this.run<EventRow>(`SELECT ${EVENT_COLUMNS} FROM policy_gate.events WHERE seq >= $1 ORDER BY seq`, [
        fromSeq,
      ])
    ).map(eventFromRow);
  }
}

/** Rows of a copied trail per INSERT statement (10 parameters each; PostgreSQL allows 65,535). */
const COPY_ROWS = 1000;

/** A SUBMITTED event's deadline (its own column, for the sweep of overdue commands). */
function deadlineOf(e: EncodedEvent): string | null {
  return e.type === 'SUBMITTED' ? ((JSON.parse(e.bytes.toString('utf8')) as SubmittedBody).deadline ?? null) : null;
}

/** One write transaction on its own connection (holding the append lock). */
class PgTransaction extends PgReader implements BackendTransaction {
  async head(): Promise<{ seq: number; chain: Buffer } | null> {
    const [row] = await this.run<{ seq: string; chain: Buffer | null }>('SELECT seq, chain FROM policy_gate.head');
    return row && row.chain !== null && Number(row.seq) > 0 ? { seq: Number(row.seq), chain: row.chain } : null;
  }

  async firstLeaf(): Promise<Buffer | null> {
    const [row] = await this.run<{ leaf: Buffer }>('SELECT leaf FROM policy_gate.events WHERE seq = 1');
    return row?.leaf ?? null;
  }

  async insert(e: EncodedEvent, chain: Buffer): Promise<number> {
    const deadline = deadlineOf(e);
    // a refused append (a second decision) must leave the transaction usable, as in SQLite: in
    // PostgreSQL a failed statement aborts the whole transaction unless it ran in a savepoint
    await this.run('SAVEPOINT append');
    try {
      const [row] = await this.run<{ seq: string }>(
        `INSERT INTO policy_gate.events (seq, type, command_id, session_id, at, programs, deadline, body, leaf, chain)
         VALUES ((SELECT seq + 1 FROM policy_gate.head), $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq`,
        [e.type, e.command_id, e.session_id, e.at, e.programs, deadline, e.bytes, e.leaf, chain],
      );
      await this.run('RELEASE SAVEPOINT append');
      return Number(row!.seq);
    } catch (err) {
      await this.run('ROLLBACK TO SAVEPOINT append').catch(() => undefined);
      throw err;
    }
  }

  /**
   * A copied trail's events, COPY_ROWS to a statement (one round trip, not three per event): the
   * sequence numbers are the source's, and the head trigger refuses any that does not extend the
   * head by one. No savepoints: a refused row fails the copy's transaction as a whole, as copy wants.
   */
  async insertCopied(events: readonly CopiedEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += COPY_ROWS) {
      const values: unknown[] = [];
      const rows = events.slice(i, i + COPY_ROWS).map(({ encoded: e, chain, seq }) => {
        const at = values.length;
        values.push(seq, e.type, e.command_id, e.session_id, e.at, e.programs, deadlineOf(e), e.bytes, e.leaf, chain);
        return `(${Array.from({ length: 10 }, (_, k) => `$${at + k + 1}`).join(', ')})`;
      });
      await this.run(
        `INSERT INTO policy_gate.events (seq, type, command_id, session_id, at, programs, deadline, body, leaf, chain)
         VALUES ${rows.join(', ')}`,
        values,
      );
    }
  }

  async appended(e: EncodedEvent): Promise<{ seq: number; chain: Buffer } | null> {
    const [row] =
      e.command_id !== null
        ? await this.run<{ seq: string; chain: Buffer }>(
            'SELECT seq, chain FROM policy_gate.events WHERE command_id = $1 AND type = $2 AND leaf = $3',
            [e.command_id, e.type, e.leaf],
          )
        : await this.run<{ seq: string; chain: Buffer }>(
            'SELECT seq, chain FROM policy_gate.events WHERE command_id IS NULL AND type = $1 AND leaf = $2',
            [e.type, e.leaf],
          );
    return row ? { seq: Number(row.seq), chain: row.chain } : null;
  }

  async insertCheckpoint(c: Omit<StoredCheckpoint, 'id'>): Promise<number> {
    const [row] = await this.run<{ id: string }>(
      'INSERT INTO policy_gate.checkpoints (size, chain, at, note) VALUES ($1, $2, $3, $4) RETURNING id',
      [c.size, c.chain, c.at, c.note],
    );
    return Number(row!.id);
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('SAVEPOINT unit');
    try {
      const result = await fn();
      await this.run('RELEASE SAVEPOINT unit');
      return result;
    } catch (err) {
      await this.run('ROLLBACK TO SAVEPOINT unit').catch(() => undefined);
      await this.run('RELEASE SAVEPOINT unit').catch(() => undefined);
      throw err;
    }
  }
}

/** SQLSTATE classes and codes after which the same operation may succeed: the connection, the server's state. */
const TRANSIENT = /^(08...|40001|40P01|57P0[1-4]|53300)$/;
/** node-postgres's own errors for a connection lost or never made. */
const CONNECTION_LOST = new RegExp(
  [
    'Connection terminated',
    'connection timeout',
    'timeout exceeded when trying to connect',
    'Query read timeout',
    'Client has encountered a connection error',
    'ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH',
  ].join('|'),
  'i',
);

export class PgBackend extends PgReader implements AuditBackend {
  readonly schemaProblems: readonly string[] = [];

  private constructor(
    readonly location: string,
    private readonly pool: pg.Pool,
    readonly writable: boolean,
    private readonly lockTimeoutMs: number,
  ) {
    super(async (text, values = []) => (await pool.query(text, values)).rows);
  }

  static async open(url: string, options: Omit<PgStoreOptions, 'stateDir'>): Promise<PgBackend> {
    const shown = withoutPassword(url);
    let driver: typeof pg;
    try {
      driver = await loadPg();
    } catch (err) {
      throw unavailable(shown, err, 'load the PostgreSQL driver');
    }
    const pool = new driver.Pool({
      connectionString: url,
      max: POOL_SIZE,
      application_name: 'policy-gate',
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
    });
    // an idle connection the server dropped (a restart, a failover) is discarded; the next
    // operation connects again
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        if (options.migrate) await migrate(client);
        const version = await schemaVersion(client);
        if (version === 0)
          throw new GateError('not-found', `audit store ${shown}: the database has no policy-gate schema`, {
            hint: 'run `policy-gate store migrate --store URL` as the schema owner first',
          });
        if (version < PG_MIGRATIONS.length)
          throw new Error(
            `the schema is at version ${version}, this gate needs ${PG_MIGRATIONS.length}: run policy-gate store migrate`,
          );
        if (version > PG_MIGRATIONS.length)
          throw new Error(
            `the schema is at version ${version}, newer than this gate knows (${PG_MIGRATIONS.length}): upgrade the gate`,
          );
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw unavailable(shown, err, 'open it');
    }
    return new PgBackend(shown, pool, !options.readonly, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  }

  /** `fn` on one connection of the pool; a connection that failed is discarded, not reused. */
  private async withClient<T>(fn: (run: Run) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // the connection lost while checked out: the query in flight fails with it; the client is discarded
    const lost = (err: Error): void => {
      broken = err;
    };
    client.on('error', lost);
    try {
      return await fn(async (text, values = []) => {
        try {
          return (await client.query(text, values)).rows;
        } catch (err) {
          if (this.classify(err) === 'transient') broken = err as Error;
          throw err;
        }
      });
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  // ---- transactions -------------------------------------------------------------------------

  async transaction<T>(fn: (tx: BackendTransaction) => Promise<T>): Promise<T> {
    if (!this.writable) throw new Error(`${this.location} was opened for reading`);
    return this.withClient(async (run) => {
      await run('BEGIN');
      try {
        await run(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}`);
        // every writer, in any process, waits here: one chain, extended one event at a time
        await run('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
        const result = await fn(new PgTransaction(run));
        await run('COMMIT');
        return result;
      } catch (err) {
        await run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async snapshot<T>(fn: (reader: AuditReader) => Promise<T>): Promise<T> {
    return this.withClient(async (run) => {
      await run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return await fn(new PgReader(run));
      } finally {
        await run('COMMIT').catch(() => undefined);
      }
    });
  }

  classify(err: unknown): BackendErrorKind | null {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      if (code === '23505') return 'duplicate';
      if (code === 'XX001' || code === 'XX002') return 'corrupt';
      if (TRANSIENT.test(code)) return 'transient';
      return 'store';
    }
    if (err instanceof Error && CONNECTION_LOST.test(`${err.message} ${String(code ?? '')}`)) return 'transient';
    return null;
  }

  /** PostgreSQL keeps its own pages checked (checksums, WAL); the trail's bytes are verify's to check. */
  async integrity(): Promise<Integrity> {
    try {
      await this.run('SELECT count(*) FROM policy_gate.events');
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: describeCause(err), unreadableFrom: null };
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

interface CheckpointRow {
  id: string;
  size: string;
  chain: Buffer;
  at: string;
  note: string;
}

function checkpoint(r: CheckpointRow): StoredCheckpoint {
  return { id: Number(r.id), size: Number(r.size), chain: r.chain, at: r.at, note: r.note };
}

async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('policy_gate.schema_version') AS t");
  if (exists.rows[0]?.t === null) return 0;
  const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM policy_gate.schema_version');
  return r.rows[0]?.v ?? 0;
}

/** Apply the migrations this gate knows and the store lacks, each in its own transaction. */
export async function migrate(client: pg.ClientBase): Promise<number> {
  await client.query(VERSION_TABLE);
  let applied = 0;
  for (let v = (await schemaVersion(client)) + 1; v <= PG_MIGRATIONS.length; v++) {
    await client.query('BEGIN');
    try {
      // another migrator waits here, then finds the version applied
      await client.query('LOCK TABLE policy_gate.schema_version IN EXCLUSIVE MODE');
      if ((await schemaVersion(client)) < v) {
        await client.query(PG_MIGRATIONS[v - 1]!);
        await client.query('INSERT INTO policy_gate.schema_version (version) VALUES ($1)', [v]);
        applied++;
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
  return applied;
}

function unavailable(where: string, err: unknown, action: string): GateError {
  if (err instanceof GateError) return err;
  return new GateError('store-unavailable', `audit store ${where}: cannot ${action}: ${describeCause(err)}`, {
    cause: err,
    hint: 'the command must not run; check the store URL, the server and the role',
  });
}

/**
 * `policy-gate store migrate` on a PostgreSQL trail: create or upgrade its schema (as the
 * schema's owner) and, with `grant`, let that role read and append (never update or delete).
 */
export async function migratePgStore(url: string, grant?: string): Promise<{ from: number; to: number }> {
  const shown = withoutPassword(url);
  const driver = await loadPg();
  const client = new driver.Client({
    connectionString: url,
    application_name: 'policy-gate',
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
    const from = await schemaVersion(client);
    if (from > PG_MIGRATIONS.length)
      throw new GateError(
        'store-unavailable',
        `audit store ${shown}: the schema is at version ${from}, newer than this gate knows (${PG_MIGRATIONS.length})`,
        { hint: 'upgrade the gate; nothing was changed' },
      );
    await migrate(client);
    if (grant !== undefined) await client.query(grantsFor(grant));
    return { from, to: await schemaVersion(client) };
  } catch (err) {
    throw unavailable(shown, err, 'migrate it');
  } finally {
    await client.end().catch(() => undefined);
  }
}
