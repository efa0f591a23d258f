/**
 * Verify an audit trail from its stored bytes, in two passes. First the log itself: sequence
 * numbers and the hash chain, then the signed checkpoints and the one kept elsewhere — so that
 * nothing is read for meaning before it is known to be what was written. Then what the events
 * say: canonical form, the life of every command, chronology, the authority of every decision,
 * the recordings. Stops at the first failure and names the event's sequence number. Nothing is
 * re-serialized to be hashed: the hashes are over the bytes as stored.
 */
import { createHash, hash } from 'node:crypto';
import { canonicalJson, type Canonical } from '../util/canonical.js';
import {
  parseCheckpoint,
  parseVerifierKey,
  rotationStatement,
  verifyCheckpoint,
  verifyWith,
  type VerifierKey,
} from './checkpoint.js';
import {
  eventTime,
  proofKind,
  type KeyRotatedBody,
  type DecidedBody,
  type DecisionStatement,
  type Passkey,
  type PasskeyRegisteredBody,
  type ProofKind,
  type SignedDecision,
  type EventBody,
  type ExecEndBody,
  type ExecStartBody,
  type SubmittedBody,
} from '../model/events.js';
import { CHAIN_TAG, GENESIS, checkpointOrigin, type RawEvent } from './chain.js';
import { fingerprint, parseSignature, verifySignature } from '../util/sshsig.js';
import { parseCoseKey, verifyStatementAssertion } from '../util/webauthn.js';
import { allowsRun } from '../model/verdict.js';

/** What the policy said at a revision: who could decide, which whitelist rules existed. */
export interface PolicyAt {
  /** Reviewer id → key fingerprint, roles and the agents acting for them. */
  readonly reviewers: ReadonlyMap<string, { fingerprint: string; agents: readonly string[] }>;
  readonly whitelist: ReadonlySet<string>;
  /** gate.yaml review.token_decisions: may a decision rest on an API token alone? */
  readonly tokenDecisions?: boolean;
  /** Where this came from, for messages ("reviewers.yaml at 3f9c…"). */
  readonly source: string;
}

export interface VerifyInput {
  /** The events in stored order; read twice (the chain first, then what the events say). */
  readonly events: () => Iterable<RawEvent> | AsyncIterable<RawEvent>;
  /** For progress: how many events there are. */
  readonly total?: number;
  /** Stored checkpoint notes, oldest first. */
  readonly checkpoints: readonly string[];
  /** Pinned verifier keys for checkpoints. */
  readonly keys: readonly VerifierKey[];
  /** A checkpoint kept elsewhere that the trail must extend. */
  readonly against?: string | undefined;
  /**
   * The checkpoints each configured witness holds (read back from it), or why they could not be
   * read (which fails verification). The trail must extend every one that is for this log.
   */
  readonly witnesses?: readonly WitnessReading[] | undefined;
  /** How the store's schema differs from the one the gate creates (dropped triggers, indexes). */
  readonly schema?: readonly string[] | undefined;
  /** The policy at a revision (null: unknown; authority is then checked for consistency only). */
  readonly policyAt?: ((revision: string) => PolicyAt | null) | undefined;
  /** A recording's bytes by its stored path, or null when missing; omit to skip recordings. */
  readonly recording?: ((path: string) => Buffer | null) | undefined;
  /** `PRAGMA integrity_check` result, when verifying a live store. */
  readonly integrity?: (() => string) | undefined;
  readonly progress?: ((done: number, total: number) => void) | undefined;
}

export type CheckName =
  | 'integrity'
  | 'schema'
  | 'structure'
  | 'hash'
  | 'checkpoint'
  | 'against'
  | 'witness'
  | 'lifecycle'
  | 'chronology'
  | 'authority'
  | 'recording';

/** What one witness holds: its checkpoint notes, oldest first, or the error reading it. */
export interface WitnessReading {
  readonly name: string;
  readonly notes: readonly string[] | null;
  readonly error?: string | undefined;
}

export interface VerifyFailure {
  /** The event at which the trail stops being trustworthy (null: the store as a whole). */
  readonly seq: number | null;
  readonly check: CheckName;
  readonly message: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly failure: VerifyFailure | null;
  readonly events: number;
  readonly commands: number;
  readonly checkpoints: number;
  /** Events after the newest signed checkpoint (not yet covered by a signature). */
  readonly unsigned_tail: number;
  /** The chain hash after the last event (hex; null for an empty trail): two copies of a trail verify to the same head. */
  readonly head: string | null;
  readonly recordings: number;
  /** Witnesses read, and the newest checkpoint each one held for this log (its size). */
  readonly witnesses: readonly { name: string; checkpoints: number; size: number }[];
  /** Commands that started through exec and have no recorded end. */
  readonly unended_runs: readonly string[];
  /** Reviewers' decisions (each one counted in a DECIDED event) by what proves them. */
  readonly proofs: Readonly<Record<ProofKind, number>>;
  readonly warnings: readonly string[];
}

/** No decision counted yet, by proof kind. */
export const NO_PROOFS: Readonly<Record<ProofKind, number>> = { ssh: 0, webauthn: 0, token: 0 };

/**
 * Are these the canonical bytes of `body`? Equivalent to comparing with canonicalJson(body),
 * but cheaper on a long trail: JSON.stringify keeps the parsed key order, so the text is
 * canonical when it round-trips, every object's keys are sorted and every number is a safe
 * integer (and the bytes were valid UTF-8, which a replacement character would hide).
 */
function isCanonical(body: unknown, text: string, bytes: Buffer): boolean {
  return quickCanonical(body, text, bytes) || exactCanonical(body, bytes);
}

function exactCanonical(body: unknown, bytes: Buffer): boolean {
  try {
    return Buffer.from(canonicalJson(body as Canonical), 'utf8').equals(bytes);
  } catch {
    return false;
  }
}

/** Sufficient, not necessary: integer-like keys are reordered by JSON.parse (then the exact check decides). */
function quickCanonical(body: unknown, text: string, bytes: Buffer): boolean {
  if (JSON.stringify(body) !== text) return false;
  // invalid UTF-8 decodes to U+FFFD: only then can the text hide what the bytes hold
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes)) return false;
  const walk = (v: unknown): boolean => {
    if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0);
    if (v === null || typeof v !== 'object') return true;
    if (Array.isArray(v)) return v.every(walk);
    let previous: string | null = null;
    for (const k in v as Record<string, unknown>) {
      if (previous !== null && !(previous < k)) return false;
      previous = k;
      if (!walk((v as Record<string, unknown>)[k])) return false;
    }
    return true;
  };
  return walk(body);
}

/** How far a submission's monotonic stamp may trail an earlier one (it waits for the lock). */
const MONOTONIC_SLACK_MS = 30_000;

class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.message);
  }
}

interface CommandState {
  submitted: SubmittedBody;
  submittedLeaf: string;
  decided: DecidedBody | null;
  decidedLeaf: string | null;
  votes: Set<string>;
  started: ExecStartBody | null;
  ended: boolean;
}

/**
 * The leaf and chain of each event in turn, hashed in reused buffers: the event's bytes after
 * a zero byte, and tag ‖ previous chain ‖ leaf (the previous chain is the stored one, once it
 * has been checked to be the one computed).
 */
class ChainHasher {
  private scratch = Buffer.alloc(4096);
  private readonly link = Buffer.alloc(CHAIN_TAG.length + 64);

  constructor() {
    CHAIN_TAG.copy(this.link, 0);
    GENESIS.copy(this.link, CHAIN_TAG.length);
  }

  leaf(bytes: Buffer): Buffer {
    if (this.scratch.length < bytes.length + 1) this.scratch = Buffer.alloc(2 * (bytes.length + 1));
    this.scratch[0] = 0;
    bytes.copy(this.scratch, 1);
    return digest(this.scratch.subarray(0, bytes.length + 1));
  }

  /** The chain after `leaf`, from the chain set by `advance` (genesis at first). */
  chain(leaf: Buffer): Buffer {
    leaf.copy(this.link, CHAIN_TAG.length + 32);
    return digest(this.link);
  }

  advance(chain: Buffer): void {
    chain.copy(this.link, CHAIN_TAG.length);
  }

  /** The chain hash after the last event advanced to (hex). */
  head(): string {
    return this.link.subarray(CHAIN_TAG.length, CHAIN_TAG.length + 32).toString('hex');
  }
}

const digest = (data: Buffer): Buffer => hash('sha256', data, 'buffer') as unknown as Buffer;

/** The size of a checkpoint note, or null when it cannot be read (its check names why). */
function sizeOf(note: string): number | null {
  try {
    return parseCheckpoint(note).size;
  } catch {
    return null;
  }
}

/**
 * One read of the events: each is hashed and chained (the log's integrity) and read for meaning
 * as it goes, but a failure of meaning is held back until the whole chain, the checkpoints and
 * the checkpoints kept elsewhere have verified, so failures are reported in the order of the two
 * passes: nothing is reported about what events say before they are known to be what was written.
 */
export async function verifyTrail(input: VerifyInput): Promise<VerifyResult> {
  const warnings: string[] = [];
  // the chain at the sizes checkpoints name (the only ones compared), not at every event
  const wanted = new Set<number>();
  for (const note of [
    ...input.checkpoints,
    ...(input.against !== undefined ? [input.against] : []),
    ...(input.witnesses ?? []).flatMap((w) => w.notes ?? []),
  ]) {
    const size = sizeOf(note);
    if (size !== null && size > 0) wanted.add(size);
  }
  const chainAt = new Map<number, Buffer>();
  // the pinned keys, and keys rotated in by a trusted key along the chain
  const keys: VerifierKey[] = [...input.keys];
  const commands = new Map<string, CommandState>();
  let recordings = 0;
  let checkedCheckpoints = 0;
  let lastSize = 0;
  const witnessed: { name: string; checkpoints: number; size: number }[] = [];
  let seqSeen = 0;
  const hasher = new ChainHasher();
  let firstLeaf: Buffer | undefined;
  // what the events say is read along with the chain; its first failure waits for the chain's
  const meaning = {
    read: false,
    failure: null as { error: unknown } | null,
    warnings: [] as string[],
    // as the checkpoints will be once verified (if they are not, nothing is said about meaning)
    checkpoints: input.checkpoints.length,
    lastSize: input.checkpoints.length > 0 ? (sizeOf(input.checkpoints[input.checkpoints.length - 1]!) ?? 0) : 0,
  };
  // without a roster, a reviewer must at least keep one key throughout the trail
  const reviewerKeys = new Map<string, string>();
  // passkeys registered so far, by credential id (a decision is checked against the registration before it)
  const passkeys = new Map<string, Passkey>();
  const proofs: Record<ProofKind, number> = { ...NO_PROOFS };
  const monotonicByBoot = new Map<string, number>();
  const fail = (seq: number | null, check: CheckName, message: string): never => {
    throw new Failed({ seq, check, message });
  };
  const policyCache = new Map<string, PolicyAt | null>();
  const policyAt = (revision: string): PolicyAt | null => {
    if (!policyCache.has(revision)) {
      const at = input.policyAt ? input.policyAt(revision) : null;
      policyCache.set(revision, at);
      if (!at)
        meaning.warnings.push(
          `the policy at revision ${revision.slice(0, 19)} is not available: its decisions were checked for ` +
            'signatures and consistency, not against its reviewers.yaml and whitelist',
        );
    }
    return policyCache.get(revision)!;
  };

  try {
    if (input.integrity) {
      const result = input.integrity();
      if (result !== 'ok') fail(null, 'integrity', `PRAGMA integrity_check: ${result}`);
    }
    if (input.schema && input.schema.length > 0)
      fail(null, 'schema', `the store's protections were removed or changed: ${input.schema.join('; ')}`);
    const total = input.total;
    for await (const e of input.events()) {
      // 1. the log's integrity: sequence and hash chain over the stored bytes
      const seq = seqSeen + 1;
      if (e.seq !== seq)
        fail(
          seq,
          'structure',
          `event #${seq} is missing: the next stored event is #${e.seq} (deleted or reordered rows)`,
        );
      seqSeen = seq;
      const leaf = hasher.leaf(e.bytes);
      if (!leaf.equals(e.leaf))
        fail(seq, 'hash', `event #${seq}: its bytes do not hash to its stored leaf (the event was changed)`);
      if (!hasher.chain(leaf).equals(e.chain))
        fail(
          seq,
          'hash',
          `event #${seq}: the chain hash does not follow from the previous event (rows changed, removed or reordered)`,
        );
      hasher.advance(e.chain);
      if (seq === 1) firstLeaf = leaf;
      if (wanted.has(seq)) chainAt.set(seq, e.chain);
      if (e.type === 'KEY_ROTATED') rotate(seq, e.bytes);
      // 2. what it says, unless something it said already failed
      if (meaning.failure === null) {
        try {
          readEvent(seq, e);
        } catch (error) {
          meaning.failure = { error };
        }
      }
      if (input.progress && seq % 1000 === 0) input.progress(2 * seq, 2 * (total ?? seq));
    }

    // signed checkpoints: each must be signed by a pinned key and match the chain at its size
    for (const note of input.checkpoints) {
      let cp;
      try {
        cp = parseCheckpoint(note);
      } catch (err) {
        return fail(null, 'checkpoint', `checkpoint ${checkedCheckpoints + 1} is malformed: ${(err as Error).message}`);
      }
      if (!verifyCheckpoint(cp, keys))
        fail(cp.size || null, 'checkpoint', `the checkpoint of size ${cp.size} is not signed by a pinned key`);
      if (cp.size < lastSize)
        fail(
          cp.size,
          'checkpoint',
          `the checkpoint of size ${cp.size} comes after one of size ${lastSize}: the log went back`,
        );
      if (cp.size > seqSeen)
        fail(
          seqSeen + 1,
          'checkpoint',
          `a signed checkpoint covers ${cp.size} events but the trail has ${seqSeen}: events were removed from the end`,
        );
      if (cp.size > 0 && !chainAt.get(cp.size)!.equals(cp.chain))
        fail(
          cp.size,
          'checkpoint',
          `the chain at event #${cp.size} is not the one the checkpoint signed: the trail was rewritten`,
        );
      if (firstLeaf && cp.origin !== checkpointOrigin(firstLeaf))
        fail(1, 'checkpoint', `the checkpoint of size ${cp.size} is for another log (${cp.origin})`);
      lastSize = cp.size;
      checkedCheckpoints++;
    }
    if (input.keys.length > 0 && seqSeen > 0 && checkedCheckpoints === 0) {
      fail(
        1,
        'checkpoint',
        `the trail has ${seqSeen} events and no signed checkpoint, although a key is pinned: its checkpoints were removed`,
      );
    }
    if (input.against !== undefined)
      keptElsewhere(input.against, 'against', 'the checkpoint given with --against', true);
    for (const w of input.witnesses ?? []) {
      // a witness that cannot be read back is a check that was not made: never "verified"
      if (w.notes === null)
        return fail(
          null,
          'witness',
          `witness ${w.name} could not be read (${w.error ?? 'unknown error'}): the trail cannot be checked against it`,
        );
      let newest = 0;
      let count = 0;
      for (const note of w.notes) {
        const size = keptElsewhere(note, 'witness', `the checkpoint witnessed by ${w.name}`, false);
        if (size === null) continue;
        count++;
        newest = Math.max(newest, size);
      }
      witnessed.push({ name: w.name, checkpoints: count, size: newest });
      if (count === 0 && seqSeen > 0) warnings.push(`witness ${w.name} holds no checkpoint of this trail yet`);
    }

    // the events are known to be the ones written: now what they say counts
    meaning.read = true;
    warnings.push(...meaning.warnings);
    if (meaning.failure) throw meaning.failure.error;
    input.progress?.(2 * seqSeen, 2 * seqSeen);
  } catch (err) {
    if (!(err instanceof Failed)) throw err;
    return {
      ok: false,
      failure: err.failure,
      events: seqSeen,
      commands: meaning.read ? commands.size : 0,
      checkpoints: checkedCheckpoints,
      unsigned_tail: 0,
      head: null,
      recordings: meaning.read ? recordings : 0,
      witnesses: witnessed,
      unended_runs: [],
      proofs,
      warnings,
    };
  }
  const unended = [...commands.values()].filter((c) => c.started && !c.ended).map((c) => c.submitted.command_id);
  if (unended.length > 0) {
    warnings.push(
      `${unended.length} run(s) have no recorded end (still running, killed with the gate, or an end that could ` +
        `not be written: see WRITE_FAILED events): ${unended.slice(0, 5).join(', ')}${unended.length > 5 ? ' …' : ''}`,
    );
  }
  if (checkedCheckpoints === 0 && seqSeen > 0)
    warnings.push(
      'there is no signed checkpoint: only the hash chain protects this trail, and a rewrite of all of it would go unnoticed',
    );
  if (!input.recording) warnings.push('recordings were not checked');
  if (proofs.token > 0)
    warnings.push(
      `${proofs.token} decision(s) rest on an API token alone (review.token_decisions): unsigned, so the trail ` +
        'cannot prove who made them',
    );
  return {
    ok: true,
    failure: null,
    events: seqSeen,
    commands: commands.size,
    checkpoints: checkedCheckpoints,
    unsigned_tail: seqSeen - lastSize,
    head: seqSeen > 0 ? hasher.head() : null,
    recordings,
    witnesses: witnessed,
    unended_runs: unended,
    proofs,
    warnings,
  };

  /** What one event says: canonical bytes, columns that match the body, its place in its command's life. */
  function readEvent(seq: number, e: RawEvent): void {
    const text = e.bytes.toString('utf8');
    let body: EventBody;
    try {
      body = JSON.parse(text) as EventBody;
    } catch {
      return fail(seq, 'structure', `event #${seq}: the body is not JSON`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      fail(seq, 'structure', `event #${seq}: the body is not an object`);
    if (!isCanonical(body, text, e.bytes)) fail(seq, 'structure', `event #${seq}: the body is not in canonical form`);
    if (body.type !== e.type)
      fail(seq, 'structure', `event #${seq}: stored as ${e.type} but its body says ${String(body.type)}`);
    if ((body.command_id ?? null) !== e.command_id)
      fail(seq, 'structure', `event #${seq}: the command_id column does not match the body`);
    let at: string;
    try {
      at = eventTime(body);
    } catch {
      return fail(seq, 'structure', `event #${seq}: unknown event type`);
    }
    if (at !== e.at) fail(seq, 'structure', `event #${seq}: the time column does not match the body`);
    checkEvent(seq, body, e.leaf.toString('hex'));
  }

  /**
   * The trail must extend a checkpoint kept elsewhere: one signed by a trusted key, of no more
   * events than the trail has, with the same chain at its size, and no newer than the newest
   * local checkpoint. Returns its size, or null for a witnessed checkpoint of another log.
   */
  function keptElsewhere(note: string, check: 'against' | 'witness', what: string, sameLog: boolean): number | null {
    let cp;
    try {
      cp = parseCheckpoint(note);
    } catch (err) {
      return fail(null, check, `${what} is malformed: ${(err as Error).message}`);
    }
    if (seqSeen > 0 && cp.origin !== checkpointOrigin(firstLeaf!)) {
      if (!sameLog) return null;
      fail(1, check, `${what} is for another log (${cp.origin})`);
    }
    if (!verifyCheckpoint(cp, keys)) fail(null, check, `${what} is not signed by a pinned key`);
    if (cp.size > seqSeen)
      fail(
        seqSeen + 1,
        check,
        `the trail has ${seqSeen} events but ${what} covers ${cp.size}: it was truncated or rolled back`,
      );
    if (cp.size > 0 && !chainAt.get(cp.size)!.equals(cp.chain))
      fail(cp.size, check, `the trail at event #${cp.size} differs from ${what}: it was rewritten`);
    if (cp.size > lastSize)
      fail(
        lastSize + 1,
        check,
        `the newest local checkpoint (size ${lastSize}) does not extend ${what} (size ${cp.size}): checkpoints were removed`,
      );
    return cp.size;
  }

  /**
   * A key rotation signed by a key already trusted (and by the new key) makes the new key
   * trusted for checkpoints; the old one stays trusted, so old checkpoints still verify.
   */
  function rotate(seq: number, bytes: Buffer): void {
    let body: KeyRotatedBody;
    let oldKey: VerifierKey;
    let newKey: VerifierKey;
    try {
      body = JSON.parse(bytes.toString('utf8')) as KeyRotatedBody;
      oldKey = parseVerifierKey(body.old_key);
      newKey = parseVerifierKey(body.new_key);
    } catch (err) {
      return fail(seq, 'checkpoint', `event #${seq}: the key rotation cannot be read: ${(err as Error).message}`);
    }
    if (body.statement !== rotationStatement(body.old_key, body.new_key, body.at))
      fail(seq, 'checkpoint', `event #${seq}: the key rotation statement does not name its keys`);
    if (!keys.some((k) => k.text === oldKey.text))
      fail(
        seq,
        'checkpoint',
        `event #${seq}: the key rotation is signed by ${oldKey.name}, which is not trusted at that point`,
      );
    if (
      !verifyWith(oldKey, body.statement, body.old_signature) ||
      !verifyWith(newKey, body.statement, body.new_signature)
    ) {
      fail(seq, 'checkpoint', `event #${seq}: the key rotation is not signed by both keys`);
    }
    if (!keys.some((k) => k.text === newKey.text)) keys.push(newKey);
  }

  function checkEvent(seq: number, body: EventBody, leaf: string): void {
    switch (body.type) {
      case 'GATE_START':
      case 'GATE_STOP':
      case 'WRITE_FAILED':
      case 'KEY_ROTATED':
        // key rotations were checked with the chain (they decide which keys sign checkpoints)
        if (body.command_id !== null) fail(seq, 'structure', `event #${seq}: a gate event belongs to no command`);
        return;
      case 'PASSKEY_REGISTERED':
        if (body.command_id !== null) fail(seq, 'structure', `event #${seq}: a gate event belongs to no command`);
        registerPasskey(seq, body);
        return;
      default:
        break;
    }
    const id = body.command_id;
    if (body.type === 'SUBMITTED') {
      if (commands.has(id)) fail(seq, 'lifecycle', `command ${id} is submitted twice`);
      const stamp = body.monotonic;
      if (stamp) {
        // within one boot the monotonic clock only goes forward; a submission is stamped before
        // it waits for the write lock (at most seconds), so order in the trail follows the clock
        const latest = monotonicByBoot.get(stamp.boot_id) ?? -Infinity;
        if (stamp.ms < latest - MONOTONIC_SLACK_MS)
          fail(
            seq,
            'chronology',
            `command ${id}: its monotonic stamp is ${Math.round(latest - stamp.ms)} ms behind an earlier submission of the same boot`,
          );
        monotonicByBoot.set(stamp.boot_id, Math.max(latest, stamp.ms));
      }
      commands.set(id, {
        submitted: body,
        submittedLeaf: leaf,
        decided: null,
        decidedLeaf: null,
        votes: new Set(),
        started: null,
        ended: false,
      });
      return;
    }
    const c = commands.get(id);
    if (!c) return fail(seq, 'lifecycle', `${body.type} for command ${id}, which was never submitted`);
    const s = c.submitted;
    switch (body.type) {
      case 'DECIDED':
        if (c.decided) fail(seq, 'lifecycle', `command ${id} is decided twice`);
        // the gate signs a checkpoint in the transaction of every decision it records
        if (input.keys.length > 0 && meaning.checkpoints > 0 && seq > meaning.lastSize) {
          fail(
            seq,
            'checkpoint',
            `the decision of ${id} (event #${seq}) is not covered by a signed checkpoint, although every ` +
              'decision is: checkpoints were removed',
          );
        }
        if (body.submitted_leaf !== c.submittedLeaf)
          fail(seq, 'lifecycle', `the decision of ${id} names another submission than its SUBMITTED event`);
        checkDecision(seq, c, body);
        for (const sig of body.signatures ?? []) proofs[proofKind(sig)]++;
        c.decided = body;
        c.decidedLeaf = leaf;
        return;
      case 'REVIEWED': {
        if (c.decided) fail(seq, 'lifecycle', `an approval of ${id} is recorded after its decision`);
        checkSignatures(seq, c, [body.signed], 'approve', s.policy_revision);
        if (c.votes.has(body.reviewer)) fail(seq, 'authority', `${body.reviewer} approved ${id} twice`);
        c.votes.add(body.reviewer);
        return;
      }
      case 'REVIEW_REFUSED':
      case 'ESCALATED':
        return;
      case 'EXEC_START': {
        if (!c.decided || !allowsRun(c.decided.decision)) {
          fail(seq, 'lifecycle', `command ${id} ran although it was ${c.decided?.decision ?? 'not decided'}`);
        }
        if (c.started) fail(seq, 'lifecycle', `command ${id} ran twice on one decision`);
        if (body.decided_leaf !== c.decidedLeaf)
          fail(seq, 'lifecycle', `the run of ${id} names another decision than its DECIDED event`);
        if (Date.parse(body.started_at) < Date.parse(c.decided!.decided_at))
          fail(seq, 'chronology', `command ${id} started before it was decided`);
        c.started = body;
        return;
      }
      case 'EXEC_END': {
        if (!c.started) return fail(seq, 'lifecycle', `command ${id} ended without a recorded start`);
        if (c.ended) fail(seq, 'lifecycle', `command ${id} ended twice`);
        if (body.started_at !== c.started.started_at)
          fail(seq, 'chronology', `the end of ${id} names another start time`);
        const duration = Date.parse(body.ended_at) - Date.parse(body.started_at);
        if (duration < 0) fail(seq, 'chronology', `command ${id} ended before it started`);
        if (Math.abs(duration - body.duration_ms) > 1)
          fail(seq, 'chronology', `command ${id}: duration_ms ${body.duration_ms} does not match its start and end`);
        c.ended = true;
        checkRecording(seq, body as ExecEndBody);
        return;
      }
      default:
        return fail(seq, 'structure', `event #${seq}: unknown event type`);
    }
  }

  function checkDecision(seq: number, c: CommandState, d: DecidedBody): void {
    const id = d.command_id;
    const latency = Date.parse(d.decided_at) - Date.parse(c.submitted.submitted_at);
    if (!(latency >= 0)) fail(seq, 'chronology', `command ${id} was decided before it was submitted`);
    if (Math.abs(latency - d.review_latency_ms) > 1)
      fail(
        seq,
        'chronology',
        `command ${id}: review_latency_ms ${d.review_latency_ms} does not match submitted_at → decided_at (${latency} ms)`,
      );
    const by = d.decided_by;
    const signatures = d.signatures ?? [];
    switch (d.decision) {
      case 'timed_out':
        if (by !== 'timeout') fail(seq, 'authority', `command ${id} timed out but is decided by ${by}`);
        if (c.submitted.deadline && Date.parse(d.decided_at) < Date.parse(c.submitted.deadline) - 1000)
          fail(seq, 'chronology', `command ${id} timed out before its deadline`);
        return;
      case 'whitelisted': {
        if (!by.startsWith('whitelist_rule:'))
          fail(seq, 'authority', `command ${id} is whitelisted by ${by}, not by a whitelist rule`);
        const policy = policyAt(d.policy_revision);
        if (policy) {
          for (const rule of by.slice('whitelist_rule:'.length).split('+')) {
            if (!policy.whitelist.has(rule))
              fail(
                seq,
                'authority',
                `command ${id} is whitelisted by ${rule}, which is not in the whitelist at ${policy.source}`,
              );
          }
        }
        return;
      }
      case 'denied':
        if (by.startsWith('policy_rule:')) return;
        if (by === 'timeout' || by.startsWith('whitelist_rule:'))
          fail(seq, 'authority', `command ${id} is denied by ${by}`);
        checkSignatures(seq, c, signatures, 'deny', d.policy_revision);
        if (signatures.length !== 1 || signatures[0]!.reviewer !== by)
          fail(seq, 'authority', `the deny of ${id} is not signed by ${by}`);
        checkReason(seq, d, signatures);
        return;
      case 'approved': {
        if (by === 'timeout' || by.includes(':'))
          fail(seq, 'authority', `command ${id} is approved by ${by}, not by reviewers`);
        checkSignatures(seq, c, signatures, 'approve', d.policy_revision);
        const names = signatures.map((x) => x.reviewer);
        if (names.join('+') !== by)
          fail(seq, 'authority', `command ${id} is approved by ${by} but signed by ${names.join('+') || 'nobody'}`);
        if (new Set(names).size !== names.length) fail(seq, 'authority', `command ${id} counts one reviewer twice`);
        checkReason(seq, d, signatures);
        return;
      }
      default:
        fail(seq, 'structure', `command ${id} has an unknown decision`);
    }
  }

  /** The reason recorded is the one the deciding reviewer signed (the last signature). */
  function checkReason(seq: number, d: DecidedBody, signatures: readonly SignedDecision[]): void {
    const statement = JSON.parse(signatures[signatures.length - 1]!.statement) as DecisionStatement;
    if ((statement.reason ?? null) !== (d.reason ?? null))
      fail(seq, 'authority', `the reason recorded for ${d.command_id} is not the one ${statement.reviewer} signed`);
  }

  function checkSignatures(
    seq: number,
    c: CommandState,
    signatures: DecidedBody['signatures'] & object,
    expected: 'approve' | 'deny',
    revision: string,
  ): void {
    const id = c.submitted.command_id;
    if (signatures.length === 0) fail(seq, 'authority', `the decision on ${id} carries no reviewer signature`);
    const policy = policyAt(revision);
    for (const sig of signatures) {
      checkProof(seq, id, sig, policy);
      let statement: DecisionStatement;
      try {
        statement = JSON.parse(sig.statement) as DecisionStatement;
      } catch {
        return fail(seq, 'authority', `${sig.reviewer}'s signed statement on ${id} is not JSON`);
      }
      if (statement.command_id !== id || statement.submitted_leaf !== c.submittedLeaf)
        fail(seq, 'authority', `${sig.reviewer} signed a decision about another submission than ${id}`);
      if (statement.decision !== expected)
        fail(
          seq,
          'authority',
          `${sig.reviewer} signed "${statement.decision}", but ${id} is recorded as ${expected === 'approve' ? 'approved' : 'denied'}`,
        );
      if (statement.reviewer !== sig.reviewer)
        fail(
          seq,
          'authority',
          `the statement on ${id} is signed for ${statement.reviewer}, recorded as ${sig.reviewer}`,
        );
      const submitter = c.submitted.agent ?? c.submitted.submitter?.user ?? null;
      const agents = policy?.reviewers.get(sig.reviewer)?.agents ?? [];
      if (expected === 'approve' && submitter !== null && (submitter === sig.reviewer || agents.includes(submitter)))
        fail(seq, 'authority', `${sig.reviewer} approved their own command ${id}`);
    }
  }

  /**
   * The decision's proof, by kind: an SSH signature by the reviewer's key (their key in the
   * policy when it is known, else one key throughout the trail); a passkey assertion by a
   * credential registered to the reviewer earlier in the trail; a token only where the policy
   * allowed tokens to decide.
   */
  function checkProof(seq: number, id: string, sig: SignedDecision, policy: PolicyAt | null): void {
    const roster = policy?.reviewers.get(sig.reviewer);
    if (policy && !roster)
      fail(seq, 'authority', `${sig.reviewer}, who decided ${id}, is not a reviewer in ${policy.source}`);
    switch (sig.proof) {
      case 'token':
        if (policy && policy.tokenDecisions !== true)
          fail(
            seq,
            'authority',
            `${sig.reviewer}'s decision on ${id} rests on a token alone, which ${policy.source} does not allow`,
          );
        return;
      case 'webauthn': {
        const passkey = passkeys.get(sig.credential_id);
        if (!passkey)
          return fail(
            seq,
            'authority',
            `${sig.reviewer}'s decision on ${id} is signed with passkey ${sig.credential_id}, registered nowhere before it`,
          );
        if (passkey.reviewer !== sig.reviewer)
          fail(
            seq,
            'authority',
            `${sig.reviewer} decided ${id} with ${passkey.reviewer}'s passkey ${sig.credential_id}`,
          );
        const checked = verifyStatementAssertion(sig.statement, passkey, sig);
        if (!checked.ok)
          fail(seq, 'authority', `${sig.reviewer}'s passkey signature on ${id} does not verify: ${checked.reason}`);
        return;
      }
      default:
        break;
    }
    let key;
    try {
      key = parseSignature(sig.signature).key;
    } catch (err) {
      return fail(seq, 'authority', `${sig.reviewer}'s signature on ${id} cannot be read: ${(err as Error).message}`);
    }
    if (fingerprint(key.blob) !== sig.key_fingerprint)
      fail(seq, 'authority', `${sig.reviewer}'s signature on ${id} is by another key than the one recorded`);
    const checked = verifySignature(Buffer.from(sig.statement, 'utf8'), sig.signature, key);
    if (!checked.ok) fail(seq, 'authority', `${sig.reviewer}'s signature on ${id} does not verify: ${checked.message}`);
    if (roster) {
      if (roster.fingerprint !== sig.key_fingerprint)
        fail(
          seq,
          'authority',
          `${sig.reviewer}'s decision on ${id} is signed with ${sig.key_fingerprint}, not their key in ${policy!.source}`,
        );
      return;
    }
    const known = reviewerKeys.get(sig.reviewer);
    if (known && known !== sig.key_fingerprint)
      fail(
        seq,
        'authority',
        `${sig.reviewer} signs ${id} with ${sig.key_fingerprint}, but earlier decisions with ${known}`,
      );
    reviewerKeys.set(sig.reviewer, sig.key_fingerprint);
  }

  /** A passkey registration: a usable public key of the algorithm recorded, a credential id no other reviewer holds. */
  function registerPasskey(seq: number, body: PasskeyRegisteredBody): void {
    try {
      const key = parseCoseKey(Buffer.from(body.public_key, 'base64url'));
      if (key.algId !== body.alg) throw new Error(`the key is ${key.alg}, recorded as alg ${body.alg}`);
    } catch (err) {
      fail(
        seq,
        'structure',
        `event #${seq}: the passkey ${body.credential_id} cannot be used: ${(err as Error).message}`,
      );
    }
    const holder = passkeys.get(body.credential_id);
    if (holder && holder.reviewer !== body.reviewer)
      fail(
        seq,
        'authority',
        `event #${seq}: the passkey ${body.credential_id} of ${holder.reviewer} is registered again to ${body.reviewer}`,
      );
    const { type: _type, command_id: _none, ...passkey } = body;
    passkeys.set(body.credential_id, passkey);
  }

  function checkRecording(seq: number, end: ExecEndBody): void {
    if (!end.recording || !input.recording) return;
    const bytes = input.recording(end.recording.path);
    if (bytes === null) fail(seq, 'recording', `the recording ${end.recording.path} of ${end.command_id} is missing`);
    const digest = createHash('sha256').update(bytes!).digest('hex');
    if (digest !== end.recording.sha256)
      fail(
        seq,
        'recording',
        `the recording ${end.recording.path} of ${end.command_id} does not match its SHA-256 in the trail`,
      );
    recordings++;
  }
}
