/**
 * The audit trail over any backend: canonical encoding and the hash chain, one decision per
 * command, a checkpoint signed in every decision's transaction and handed to the witnesses once
 * it commits, the failed-write spool. Operations of one trail run one at a time (a transaction
 * holds the connection until it ends); calls made from inside `atomically` or `snapshot` join
 * it instead of waiting for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  chainHash,
  checkpointOrigin,
  encodedFromBytes,
  encodeEvent,
  GENESIS,
  leafHash,
  type RawEvent,
  type StoredCheckpoint,
} from './chain.js';
import { checkpointBody, type CheckpointSigner } from './checkpoint.js';
import { claimSpools, readClaim, releaseClaim, returnClaim, spoolFailure } from './spool.js';
import type { AuditBackend, BackendTransaction, CopiedEvent } from './backend.js';
import type { AuditReader, AuditStore, AuditTransaction, CommandFilter, Integrity, OtherEventBody } from './store.js';
import type {
  CommandRecord,
  DecidedBody,
  EventBody,
  ExecEndBody,
  ExecStartBody,
  GateEventType,
  StoredEvent,
  SubmittedBody,
} from '../model/events.js';
import type { SessionHistory } from '../model/history.js';
import { GateError, describeCause } from '../util/errors.js';

export interface TrailOptions {
  /** The gate's state directory: the failed-write spool lives there. */
  readonly stateDir: string;
  /** Sign a checkpoint after every decision (in the decision's transaction). */
  readonly signer?: CheckpointSigner | undefined;
  /**
   * Called with every checkpoint this trail signs, after the transaction that wrote it commits
   * (the witnesses). What it throws fails the write it followed.
   */
  readonly witness?: ((note: string) => void) | undefined;
}

/** What `copyFrom` copied: the target's events after it, those it added, the checkpoints it added. */
export interface CopyResult {
  readonly events: number;
  readonly copied: number;
  readonly checkpoints: number;
}

type Scope = {
  readonly trail: AuditTrail;
  readonly reader: AuditReader;
  readonly tx: BackendTransaction | null;
  /** A transaction tried again after a transient failure: what it appends may already be there. */
  readonly retry?: boolean;
};

/** Pauses before trying a transaction again after a transient failure (a lost connection, a serialization failure). */
const RETRIES = [100, 400, 1200];

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function storedEvent(
  encoded: ReturnType<typeof encodeEvent>,
  body: EventBody,
  seq: number,
  chain: Buffer,
): StoredEvent {
  return {
    seq,
    type: encoded.type,
    command_id: encoded.command_id,
    at: encoded.at,
    body,
    bytes: encoded.bytes,
    leaf: encoded.leaf.toString('hex'),
    chain: chain.toString('hex'),
  };
}

/** One write waiting for the next group commit. */
interface Unit {
  readonly fn: (tx: BackendTransaction) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}
const scope = new AsyncLocalStorage<Scope>();

export class AuditTrail implements AuditStore {
  readonly location: string;
  private queue: Promise<unknown> = Promise.resolve();
  /** Writes waiting for the next transaction (group commit), null when none is forming. */
  private batch: Unit[] | null = null;
  /** Write transactions committed and the writes they carried (bench and tests read them). */
  readonly commits = { transactions: 0, writes: 0 };
  /** Checkpoints signed inside the open transaction, for the witnesses once it commits. */
  private unwitnessed: string[] = [];
  private closed = false;

  constructor(
    private readonly backend: AuditBackend,
    private readonly options: TrailOptions,
  ) {
    this.location = backend.location;
    // failures spooled by earlier writers are recorded before this writer's first write
    if (backend.writable) void this.serial(() => this.ingestFailures()).catch(() => undefined);
  }

  get schemaProblems(): readonly string[] {
    return this.backend.schemaProblems;
  }

  /** Run `fn` once every operation started before it has finished; inside a scope, at once. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (scope.getStore()?.trail === this) return fn();
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The reader of the enclosing transaction or snapshot, or the backend itself. */
  private read<T>(fn: (r: AuditReader) => Promise<T>): Promise<T> {
    const current = scope.getStore();
    if (current?.trail === this) return fn(current.reader);
    return this.serial(() => fn(this.backend));
  }

  /** A write transaction, or the enclosing one. */
  private write<T>(fn: (tx: BackendTransaction) => Promise<T>): Promise<T> {
    const current = scope.getStore();
    if (current?.trail === this) {
      if (!current.tx) throw new Error('a write inside a read snapshot');
      return fn(current.tx);
    }
    return new Promise<T>((resolve, reject) => {
      const unit: Unit = { fn: fn as Unit['fn'], resolve: resolve as Unit['resolve'], reject };
      if (this.batch) {
        this.batch.push(unit);
        return;
      }
      const batch = [unit];
      this.batch = batch;
      void this.serial(() => this.commitBatch(batch)).catch(() => undefined);
    });
  }

  /**
   * Group commit: every write that arrived while the previous transaction ran commits in the
   * next one, each in its own savepoint (one that fails is undone alone), in arrival order, so
   * the chain stays one sequence. Nobody hears back before the transaction is durable.
   */
  private async commitBatch(batch: Unit[]): Promise<void> {
    if (this.batch === batch) this.batch = null; // later writes form the next batch
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    for (let attempt = 1; ; attempt++) {
      outcomes = [];
      try {
        await this.backend.transaction((tx) =>
          scope.run({ trail: this, reader: tx, tx, retry: attempt > 1 }, async () => {
            for (const unit of batch) {
              const signed = this.unwitnessed.length;
              try {
                outcomes.push({ ok: true, value: await tx.savepoint(() => unit.fn(tx)) });
              } catch (error) {
                // alone, or the connection lost: the transaction fails as a whole
                if (batch.length === 1 || this.backend.classify(error) === 'transient') throw error;
                this.unwitnessed.length = signed; // its checkpoints were undone with it
                outcomes.push({ ok: false, error });
              }
            }
          }),
        );
        break;
      } catch (err) {
        this.unwitnessed = []; // rolled back (or unknown): those checkpoints are not known to exist
        // a lost connection or a transaction the server rolled back: once more, idempotently
        // (append finds what a commit it never heard of wrote)
        if (attempt < RETRIES.length + 1 && !this.closed && this.backend.classify(err) === 'transient') {
          await delay(RETRIES[attempt - 1]!);
          continue;
        }
        for (const unit of batch) unit.reject(err);
        return;
      }
    }
    this.commits.transactions++;
    this.commits.writes += outcomes.filter((o) => o.ok).length;
    try {
      this.flushWitnesses();
    } catch (err) {
      // a required witness refused the checkpoint: what the checkpoint followed fails
      this.unwitnessed = [];
      for (const unit of batch) unit.reject(err);
      return;
    }
    batch.forEach((unit, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }

  private async append(tx: BackendTransaction, body: EventBody): Promise<StoredEvent> {
    const encoded = encodeEvent(body);
    if (scope.getStore()?.retry && tx.appended) {
      const stored = await tx.appended(encoded);
      if (stored) return storedEvent(encoded, body, stored.seq, stored.chain);
    }
    const head = await tx.head();
    const chain = chainHash(head?.chain ?? GENESIS, encoded.leaf);
    return storedEvent(encoded, body, await tx.insert(encoded, chain), chain);
  }

  /** A failed write as the caller sees it (after noting it), or null for a refused duplicate. */
  private failed(err: unknown, body: EventBody, what: string, hint: string | undefined): GateError | null {
    if (err instanceof GateError) return err;
    const kind = this.backend.classify(err);
    if (kind === 'duplicate' && body.type !== 'SUBMITTED') return null;
    if (kind === 'corrupt') return this.corrupted(err);
    this.noteFailure(body.type, body.command_id, err, body.type === 'EXEC_END' ? body : undefined);
    return new GateError(
      'store-write-failed',
      `audit store ${this.location}: ${what} was not recorded: ${describeCause(err)}`,
      { cause: err, ...(hint ? { hint } : {}) },
    );
  }

  async submit(body: SubmittedBody): Promise<StoredEvent> {
    try {
      return await this.write((tx) => this.append(tx, body));
    } catch (err) {
      throw this.failed(err, body, 'the submission', 'the command must not run')!;
    }
  }

  async decide(body: DecidedBody): Promise<StoredEvent | null> {
    try {
      return await this.write(async (tx) => {
        const event = await this.append(tx, body);
        if (this.options.signer) await this.signCheckpoint(tx, body.decided_at);
        return event;
      });
    } catch (err) {
      // the one-decision rule: a concurrent decider got there first
      const failure = this.failed(err, body, 'the decision', 'the command must not run');
      if (failure) throw failure;
      return null;
    }
  }

  async record(body: OtherEventBody): Promise<StoredEvent | null> {
    try {
      return await this.write((tx) => this.append(tx, body));
    } catch (err) {
      const failure = this.failed(err, body, `the ${body.type} event`, undefined);
      if (failure) throw failure;
      return null;
    }
  }

  async atomically<T>(fn: (tx: AuditTransaction) => Promise<T>, what = 'TRANSACTION'): Promise<T> {
    const inside = scope.getStore()?.trail === this;
    try {
      return await this.write(() => fn(this));
    } catch (err) {
      if (inside || err instanceof GateError) throw err;
      const kind = this.backend.classify(err);
      if (kind === 'corrupt') throw this.corrupted(err);
      if (kind !== null) {
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
  }

  snapshot<T>(fn: (reader: AuditReader) => Promise<T>): Promise<T> {
    const current = scope.getStore();
    if (current?.trail === this) return fn(current.reader);
    return this.serial(() =>
      this.backend.snapshot((reader) => scope.run({ trail: this, reader, tx: null }, () => fn(reader))),
    );
  }

  /**
   * Copy another trail onto this one byte for byte (`store copy`): its events with the stored
   * bytes, leaves and chain values, then its checkpoints as signed. This trail must be empty or
   * hold a prefix of the source (an interrupted copy resumes). Each event's leaf and chain are
   * recomputed on the way: a damaged source is refused at the first event that does not chain,
   * not laundered into a new store.
   */
  async copyFrom(source: AuditReader): Promise<CopyResult> {
    let head = await this.write((tx) => tx.head());
    const start = head?.seq ?? 0;
    let chain = head?.chain ?? GENESIS;
    let batch: CopiedEvent[] = [];
    const flush = async (): Promise<void> => {
      const rows = batch;
      batch = [];
      if (rows.length === 0) return;
      await this.write(async (tx) => {
        if (tx.insertCopied) return tx.insertCopied(rows);
        for (const r of rows) {
          const seq = await tx.insert(r.encoded, r.chain);
          if (seq !== r.seq)
            throw new Error(`event #${r.seq} was stored as #${seq}: another writer appended meanwhile`);
        }
      });
    };
    let last = 0;
    for await (const e of source.rawEvents()) {
      last = e.seq;
      if (e.seq <= start) {
        if (e.seq === start && !e.chain.equals(chain))
          throw new GateError('store-write-failed', `${this.location} holds another trail: event #${start} differs`, {
            hint: 'copy into an empty store',
          });
        continue;
      }
      const leaf = leafHash(e.bytes);
      const next = chainHash(chain, leaf);
      if (!leaf.equals(e.leaf) || !next.equals(e.chain))
        throw new GateError(
          'store-corrupt',
          `the source trail does not chain at event #${e.seq}: nothing after it was copied`,
          {
            hint: 'run policy-gate verify on the source',
          },
        );
      chain = next;
      batch.push({ encoded: encodedFromBytes(e.bytes, e.at), chain: next, seq: e.seq });
      if (batch.length >= 1000) await flush();
    }
    await flush();
    if (last < start)
      throw new GateError(
        'store-write-failed',
        `${this.location} holds more events (${start}) than the source (${last})`,
      );
    const have = new Set((await this.checkpoints()).map((c) => c.note));
    const missing = (await source.checkpoints()).filter((c) => !have.has(c.note));
    if (missing.length > 0)
      await this.write(async (tx) => {
        for (const c of missing) await tx.insertCheckpoint({ size: c.size, chain: c.chain, at: c.at, note: c.note });
      });
    head = await this.write((tx) => tx.head());
    return { events: head?.seq ?? 0, copied: (head?.seq ?? 0) - start, checkpoints: missing.length };
  }

  async checkpoint(now: Date, maxAgeMs = 0): Promise<StoredCheckpoint | null> {
    if (!this.options.signer) return null;
    return this.write(async (tx) => {
      const last = await tx.latestCheckpoint();
      if (last && maxAgeMs > 0 && now.getTime() - Date.parse(last.at) < maxAgeMs) return last;
      return (await this.signCheckpoint(tx, now.toISOString())) ?? last;
    });
  }

  /** Sign and store a checkpoint of the chain as it is, unless the newest already covers it. */
  private async signCheckpoint(tx: BackendTransaction, at: string): Promise<StoredCheckpoint | null> {
    const signer = this.options.signer;
    const head = await tx.head();
    if (!head || !signer) return null;
    const last = await tx.latestCheckpoint();
    if (last && last.size >= head.seq) return null;
    const origin = checkpointOrigin((await tx.firstLeaf()) ?? GENESIS);
    const note = signer.signNote(checkpointBody(origin, head.seq, head.chain));
    const id = await tx.insertCheckpoint({ size: head.seq, chain: head.chain, at, note });
    if (this.options.witness) this.unwitnessed.push(note);
    return { id, size: head.seq, chain: head.chain, at, note };
  }

  /** Hand the newest checkpoint just committed to the witnesses (it covers the others). */
  private flushWitnesses(): void {
    const notes = this.unwitnessed;
    this.unwitnessed = [];
    if (notes.length > 0) this.options.witness?.(notes[notes.length - 1]!);
  }

  integrity(): Promise<Integrity> {
    return this.serial(() => this.backend.integrity());
  }

  noteFailure(eventType: string, commandId: string | null, err: unknown, event?: ExecEndBody): void {
    spoolFailure(this.options.stateDir, this.location, eventType, commandId, err, event);
  }

  /** Record what earlier writers spooled: a WRITE_FAILED each, then any late EXEC_END. */
  private async ingestFailures(): Promise<void> {
    const { stateDir } = this.options;
    for (const claimed of claimSpools(stateDir, this.location)) {
      try {
        const failures = readClaim(claimed);
        const now = new Date().toISOString();
        await this.backend.transaction((tx) =>
          scope.run({ trail: this, reader: tx, tx }, async () => {
            for (const f of failures) {
              await this.append(tx, {
                type: 'WRITE_FAILED',
                command_id: null,
                at: now,
                failed_at: f.failed_at ?? now,
                event_type: f.event_type,
                failed_command_id: f.failed_command_id,
                error: f.error,
                pid: f.pid,
              });
              const late = await lateExecEnd(tx, f.event);
              if (late) await this.append(tx, late);
            }
          }),
        );
        releaseClaim(claimed);
      } catch (err) {
        returnClaim(stateDir, claimed);
        throw err;
      }
    }
  }

  private corrupted(err: unknown): GateError {
    return new GateError('store-corrupt', `audit store ${this.location} is corrupted: ${describeCause(err)}`, {
      cause: err,
      hint: 'the command must not run; run `policy-gate verify` to find the first bad page, and restore the store from a copy',
    });
  }

  sessionHistory(sessionId: string, now: Date, windowSeconds: number): Promise<SessionHistory> {
    return this.read((r) => r.sessionHistory(sessionId, now, windowSeconds));
  }
  decision(commandId: string): Promise<DecidedBody | null> {
    return this.read((r) => r.decision(commandId));
  }
  command(commandId: string): Promise<CommandRecord | null> {
    return this.read((r) => r.command(commandId));
  }
  commands(filter?: CommandFilter): Promise<CommandRecord[]> {
    return this.read((r) => r.commands(filter));
  }
  commandEvents(commandId: string): Promise<StoredEvent[]> {
    return this.read((r) => r.commandEvents(commandId));
  }
  gateEvents(type: GateEventType): Promise<StoredEvent[]> {
    return this.read((r) => r.gateEvents(type));
  }
  events(fromSeq?: number): Promise<StoredEvent[]> {
    return this.read((r) => r.events(fromSeq));
  }
  async *rawEvents(): AsyncIterable<RawEvent> {
    const current = scope.getStore();
    if (current?.trail === this) {
      yield* current.reader.rawEvents();
      return;
    }
    // outside a snapshot: read them all at once, in one go through the queue
    const all = await this.serial(async () => {
      const out: RawEvent[] = [];
      for await (const e of this.backend.rawEvents()) out.push(e);
      return out;
    });
    yield* all;
  }
  eventCount(): Promise<number> {
    return this.read((r) => r.eventCount());
  }
  checkpoints(): Promise<StoredCheckpoint[]> {
    return this.read((r) => r.checkpoints());
  }
  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.read((r) => r.latestCheckpoint());
  }
  policyRevisions(): Promise<string[]> {
    return this.read((r) => r.policyRevisions());
  }
  overdue(now: Date, limit?: number): Promise<{ submitted: SubmittedBody; leaf: string }[]> {
    return this.read((r) => r.overdue(now, limit));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.backend.close();
  }
}

/** A spooled EXEC_END that ends a recorded start, not ended yet: recorded late, as it was. */
async function lateExecEnd(tx: BackendTransaction, event: unknown): Promise<ExecEndBody | null> {
  if (event === null || typeof event !== 'object') return null;
  const end = event as ExecEndBody;
  if (end.type !== 'EXEC_END' || typeof end.command_id !== 'string') return null;
  const events = await tx.commandEvents(end.command_id);
  const start = events.find((e) => e.type === 'EXEC_START')?.body as ExecStartBody | undefined;
  if (!start || start.started_at !== end.started_at) return null;
  if (events.some((e) => e.type === 'EXEC_END')) return null;
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
