/**
 * What every backend's reads turn rows into: a stored event from its columns, a command's
 * record from the bodies of its SUBMITTED, DECIDED, EXEC_START and EXEC_END events. The SQL is
 * each backend's; the shape of what comes back is one.
 */
import {
  commandRecord,
  type CommandRecord,
  type DecidedBody,
  type EventBody,
  type ExecEndBody,
  type ExecStartBody,
  type StoredEvent,
  type SubmittedBody,
} from '../model/events.js';

/** An event's columns as read (PostgreSQL returns a BIGINT sequence number as a string). */
export interface EventRow {
  seq: number | string;
  type: string;
  command_id: string | null;
  at: string;
  body: Buffer;
  leaf: Buffer;
  chain: Buffer;
}

export function eventFromRow(r: EventRow): StoredEvent {
  return {
    seq: Number(r.seq),
    type: r.type as StoredEvent['type'],
    command_id: r.command_id,
    at: r.at,
    body: JSON.parse(r.body.toString('utf8')) as EventBody,
    bytes: r.body,
    leaf: r.leaf.toString('hex'),
    chain: r.chain.toString('hex'),
  };
}

export function parseBody<T>(bytes: Buffer | null): T | null {
  return bytes ? (JSON.parse(bytes.toString('utf8')) as T) : null;
}

/** The bodies of one command's lifecycle events, as stored (null: not there). */
export interface LifecycleBodies {
  submitted: Buffer;
  decided: Buffer | null;
  started: Buffer | null;
  ended: Buffer | null;
}

export function recordFromBodies(r: LifecycleBodies): CommandRecord {
  return commandRecord(
    JSON.parse(r.submitted.toString('utf8')) as SubmittedBody,
    parseBody<DecidedBody>(r.decided),
    parseBody<ExecStartBody>(r.started),
    parseBody<ExecEndBody>(r.ended),
  );
}
