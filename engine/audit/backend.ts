/**
 * What a storage backend provides to the audit trail (trail.ts): rows appended in write
 * transactions that serialize with every other writer, reads (also inside a consistent
 * snapshot), checkpoint rows, an integrity probe. Encoding, hashing, the failed-write spool and
 * checkpoint signing are the trail's, not the backend's, so a new backend (PostgreSQL) writes
 * SQL and nothing else. `sqlite/backend.ts` is the reference implementation.
 */
import type { EncodedEvent, StoredCheckpoint } from './chain.js';
import type { AuditReader, Integrity } from './store.js';

/** An event of another trail, copied with its bytes, the sequence number and chain value it had there. */
export interface CopiedEvent {
  readonly encoded: EncodedEvent;
  readonly chain: Buffer;
  readonly seq: number;
}

export interface BackendTransaction extends AuditReader {
  /** The newest event's sequence number and chain value (null: no event yet). */
  head(): Promise<{ seq: number; chain: Buffer } | null>;
  /** The first event's leaf (checkpoint origin), null when there is none. */
  firstLeaf(): Promise<Buffer | null>;
  /**
   * Append one event with its chain value; returns its sequence number (one more than the head).
   * A second SUBMITTED/DECIDED/EXEC_START/EXEC_END for a command must fail (classify: duplicate).
   */
  insert(event: EncodedEvent, chain: Buffer): Promise<number>;
  /**
   * Append events whose sequence numbers and chain values are already known (`store copy`), in
   * order, as `insert` would one at a time; an event that does not extend the head by one fails
   * the transaction. Optional: without it the trail calls `insert` for each (a backend whose
   * inserts cost a round trip each provides it, to send many in one statement).
   */
  insertCopied?(events: readonly CopiedEvent[]): Promise<void>;
  insertCheckpoint(checkpoint: Omit<StoredCheckpoint, 'id'>): Promise<number>;
  /**
   * The stored event with exactly these bytes, if one is there: a retry after a transient failure
   * (the connection lost while COMMIT was on its way) finds what the first attempt committed and
   * does not append it twice. Backends whose failures are never transient need not provide it.
   */
  appended?(event: EncodedEvent): Promise<{ seq: number; chain: Buffer } | null>;
  /**
   * `fn` as one unit inside the transaction: what it wrote is kept when it resolves and undone
   * when it rejects, the rest of the transaction untouched (group commit isolates its members so).
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
}

/** How the trail treats an error a backend threw. */
export type BackendErrorKind =
  /** a uniqueness rule refused a second event of a kind allowed once */
  | 'duplicate'
  /** the store is damaged */
  | 'corrupt'
  /** the store failed the operation (locked past the timeout, disk full, read-only) */
  | 'store'
  /**
   * the operation may succeed if tried again, and may even have committed: the connection was
   * lost (a restart, a failover), the server rolled it back (a serialization failure, a deadlock)
   */
  | 'transient';

export interface AuditBackend extends AuditReader {
  readonly location: string;
  /** Opened for writing (a read-only backend refuses transactions). */
  readonly writable: boolean;
  readonly schemaProblems: readonly string[];
  /**
   * One write transaction, serialized with every other writer (waiting for the lock up to the
   * backend's timeout). Commits when `fn` resolves, rolls back when it rejects.
   */
  transaction<T>(fn: (tx: BackendTransaction) => Promise<T>): Promise<T>;
  /** `fn` over one consistent read snapshot. */
  snapshot<T>(fn: (reader: AuditReader) => Promise<T>): Promise<T>;
  integrity(): Promise<Integrity>;
  /** The kind of a backend error, null for anything else (a bug, or an error `fn` threw). */
  classify(err: unknown): BackendErrorKind | null;
  close(): Promise<void>;
}
