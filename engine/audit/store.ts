/**
 * The audit store seam, asynchronous and backend-neutral: what the gate, verify, export and
 * report need from a trail. `AuditTrail` (trail.ts) implements it once over any `AuditBackend`
 * (backend.ts: SQLite today, a network database tomorrow), so the canonical encoding, the hash
 * chain, the failed-write spool and the checkpoint signed with every decision live in one
 * place. Every implementation passes one contract suite (test/audit-store-contract.ts).
 */
import type { RawEvent, StoredCheckpoint } from './chain.js';
import type { SessionHistory } from '../model/history.js';
import type {
  CommandRecord,
  CommandState,
  DecidedBody,
  EventBody,
  ExecEndBody,
  GateEventType,
  StoredEvent,
  SubmittedBody,
} from '../model/events.js';

/** Events other than SUBMITTED and DECIDED, which have their own methods. */
export type OtherEventBody = Exclude<EventBody, SubmittedBody | DecidedBody>;

export interface CommandFilter {
  readonly session?: string | undefined;
  readonly decision?: CommandState | undefined;
  /** ISO time: only commands submitted at or after it. */
  readonly since?: string | undefined;
  readonly limit?: number | undefined;
}

/** What a whole-trail check found: `ok`, or what is wrong and how far the events can be read. */
export type Integrity =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly detail: string;
      /** The store cannot even be read from this event on (null: the damage is elsewhere). */
      readonly unreadableFrom: number | null;
    };

/** Reads. Within `snapshot` (and `atomically`) they all see the same state of the trail. */
export interface AuditReader {
  /** The session's history as of `now` (commands submitted after `now` do not count). */
  sessionHistory(sessionId: string, now: Date, windowSeconds: number): Promise<SessionHistory>;
  decision(commandId: string): Promise<DecidedBody | null>;
  command(commandId: string): Promise<CommandRecord | null>;
  /** Commands, oldest first (the newest `limit` when a limit is given). */
  commands(filter?: CommandFilter): Promise<CommandRecord[]>;
  /** Every event of one command, in sequence order. */
  commandEvents(commandId: string): Promise<StoredEvent[]>;
  /** The events of one type that belong to no command (GATE_START, PASSKEY_REGISTERED …), in sequence order. */
  gateEvents(type: GateEventType): Promise<StoredEvent[]>;
  /** Every event in sequence order, from `fromSeq` on. */
  events(fromSeq?: number): Promise<StoredEvent[]>;
  /** Events as stored, unparsed, in sequence order: what `verify` and `export` check. */
  rawEvents(): AsyncIterable<RawEvent>;
  eventCount(): Promise<number>;
  checkpoints(): Promise<StoredCheckpoint[]>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** The policy revisions decisions were made under. */
  policyRevisions(): Promise<string[]>;
  /** Pending submissions whose deadline is before `now` (wall clock), oldest first. */
  overdue(now: Date, limit?: number): Promise<{ submitted: SubmittedBody; leaf: string }[]>;
}

/** Appends, inside or outside a transaction. */
export interface AuditWriter {
  /** Append SUBMITTED; durable when the promise resolves. */
  submit(body: SubmittedBody): Promise<StoredEvent>;
  /** Append DECIDED (and sign a checkpoint) unless the command already has a decision: null then. */
  decide(body: DecidedBody): Promise<StoredEvent | null>;
  /**
   * Append any other event. Null when the command already has one of this kind and only one is
   * allowed (EXEC_START, EXEC_END).
   */
  record(body: OtherEventBody): Promise<StoredEvent | null>;
}

/** What `atomically` hands its function: reads and appends inside the one write transaction. */
export interface AuditTransaction extends AuditReader, AuditWriter {}

export interface AuditStore extends AuditReader, AuditWriter {
  /** Where the trail is (a file path, a database URL without its password): for messages. */
  readonly location: string;
  /** How the store's protections differ from what this version creates (empty: as created). */
  readonly schemaProblems: readonly string[];
  /**
   * Run `fn` in one write transaction: what it reads cannot change before what it appends is
   * committed; its appends commit together, or not at all. Checkpoints signed inside reach the
   * witnesses after the commit. When the transaction itself fails, the failure is noted as a
   * failed write of `what` (an event type). Calls on the store itself from inside `fn` join
   * the transaction.
   */
  atomically<T>(fn: (tx: AuditTransaction) => Promise<T>, what?: string): Promise<T>;
  /** Run `fn` over one consistent read snapshot (verify's two passes, an export). */
  snapshot<T>(fn: (reader: AuditReader) => Promise<T>): Promise<T>;
  /**
   * Sign a checkpoint of the chain now, unless the newest is younger than `maxAgeMs` or covers
   * every event. Returns the newest checkpoint (null when the store has no signer or no event).
   */
  checkpoint(now: Date, maxAgeMs?: number): Promise<StoredCheckpoint | null>;
  /** The whole store read for damage (verify runs it before reading anything for meaning). */
  integrity(): Promise<Integrity>;
  /**
   * Note a write that failed, for the next writer to record as WRITE_FAILED (an EXEC_END is
   * kept whole and recorded late). Never throws.
   */
  noteFailure(eventType: string, commandId: string | null, err: unknown, event?: ExecEndBody): void;
  close(): Promise<void>;
}
