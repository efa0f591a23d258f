/**
 * The audit store seam. The gate needs only this: append an event durably, read a decision,
 * read a session's recent history, list commands. Implementations pass one contract suite
 * (test/audit-store-contract.ts).
 */
import type { SessionHistory } from '../model/history.js';
import type {
  CommandRecord,
  CommandState,
  DecidedBody,
  EventBody,
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

export interface AuditStore {
  readonly location: string;
  /** The session's history as of `now` (commands submitted after `now` do not count). */
  sessionHistory(sessionId: string, now: Date, windowSeconds: number): SessionHistory;
  /** Append SUBMITTED; durable when this returns. */
  submit(body: SubmittedBody): StoredEvent;
  /** Append DECIDED unless the command already has a decision; returns null then. */
  decide(body: DecidedBody): StoredEvent | null;
  decision(commandId: string): DecidedBody | null;
  /**
   * Append any other event. Returns null when the command already has one of this kind and
   * only one is allowed (EXEC_START, EXEC_END).
   */
  record(body: OtherEventBody): StoredEvent | null;
  /**
   * Run `fn` in one write transaction (BEGIN IMMEDIATE): what it reads cannot change before
   * what it appends is committed. Appends inside commit together, or not at all. When the
   * transaction itself fails, the failure is noted as a failed write of `what` (an event type).
   */
  atomically<T>(fn: () => T, what?: string): T;
  /**
   * Sign a checkpoint of the chain now, unless the newest is younger than `maxAgeMs` or covers
   * every event (only stores opened with the gate's key sign; others do nothing).
   */
  checkpoint?(now: Date, maxAgeMs?: number): unknown;
  /** Pending submissions whose deadline is before `now` (wall clock), oldest first. */
  overdue(now: Date, limit?: number): { submitted: SubmittedBody; leaf: string }[];
  /** Every event of one command, in sequence order. */
  commandEvents(commandId: string): StoredEvent[];

  command(commandId: string): CommandRecord | null;
  /** Commands, oldest first (the newest `limit` when a limit is given). */
  commands(filter?: CommandFilter): CommandRecord[];
  /** Every event in sequence order, from `fromSeq` on. */
  events(fromSeq?: number): StoredEvent[];
  close(): void;
}
