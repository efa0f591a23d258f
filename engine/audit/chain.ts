/**
 * The hash chain every backend stores, defined once. Each event is kept as canonical bytes
 * (util/canonical.ts) and chained to the one before it:
 *   leaf  = SHA-256(0x00 ‖ bytes)
 *   chain = SHA-256("policy-gate/chain/v1" ‖ previous chain ‖ leaf), genesis = 32 zero bytes.
 * A signed checkpoint names a chain value and the number of events it covers.
 */
import { createHash } from 'node:crypto';
import { eventTime, type EventBody } from '../model/events.js';
import { canonicalJson, type Canonical } from '../util/canonical.js';

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

/** The origin line of a store's checkpoints: named after its first event, so it is stable. */
export function checkpointOrigin(firstLeaf: Buffer): string {
  return `policy-gate/${firstLeaf.subarray(0, 8).toString('hex')}`;
}

/** An event as stored, unparsed: what `verify` and `export` read. */
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

/** An event ready to append: its canonical bytes, leaf and the columns backends index. */
export interface EncodedEvent {
  readonly type: EventBody['type'];
  readonly command_id: string | null;
  /** The session of a SUBMITTED event (session history), else null. */
  readonly session_id: string | null;
  /** The programs a SUBMITTED command runs, space-separated (novelty), else null. */
  readonly programs: string | null;
  readonly at: string;
  readonly bytes: Buffer;
  readonly leaf: Buffer;
}

export function encodeEvent(body: EventBody): EncodedEvent {
  return encoded(body, Buffer.from(canonicalJson(body as unknown as Canonical), 'utf8'), eventTime(body));
}

/** A stored event's bytes as an append (a copy keeps the bytes and time exactly as stored). */
export function encodedFromBytes(bytes: Buffer, at: string): EncodedEvent {
  return encoded(JSON.parse(bytes.toString('utf8')) as EventBody, bytes, at);
}

function encoded(body: EventBody, bytes: Buffer, at: string): EncodedEvent {
  const submitted = body.type === 'SUBMITTED' ? body : null;
  const programs = submitted
    ? [...new Set(submitted.segments.map((s) => s.program).filter((p): p is string => p !== null))].join(' ')
    : null;
  return {
    type: body.type,
    command_id: body.command_id,
    session_id: submitted ? submitted.session_id : null,
    programs,
    at,
    bytes,
    leaf: leafHash(bytes),
  };
}
