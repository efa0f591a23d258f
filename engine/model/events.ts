/**
 * Audit events and the command records derived from them. Events are immutable; a command's
 * state is whatever its events say: SUBMITTED; then reviewers' votes (REVIEWED) and refused
 * attempts (REVIEW_REFUSED), an ESCALATED notice; at most one DECIDED; and, when run through
 * `exec`, at most one EXEC_START and one EXEC_END.
 */
import type { ProvenanceEntry } from './provenance.js';
import type { Refusal } from './refusals.js';
import type { SegmentReport } from './segments.js';
import type { Signal } from './signals.js';
import type { CommandState, Decision, Level, WouldDecide } from './verdict.js';

export type { CommandState, Decision } from './verdict.js';

export type EventType =
  'SUBMITTED' | 'DECIDED' | 'REVIEWED' | 'REVIEW_REFUSED' | 'ESCALATED' | 'EXEC_START' | 'EXEC_END' | GateEventType;
export type GateEventType = 'GATE_START' | 'GATE_STOP' | 'WRITE_FAILED' | 'KEY_ROTATED' | 'PASSKEY_REGISTERED';

export interface SubmittedBody {
  readonly type: 'SUBMITTED';
  readonly command_id: string;
  readonly submitted_at: string;
  readonly command: string;
  readonly session_id: string | null;
  readonly agent: string | null;
  readonly cwd: string | null;
  readonly intent: string | null;
  readonly risk_score: number;
  readonly risk_level: Level;
  readonly signals: readonly Signal[];
  readonly segments: readonly SegmentReport[];
  readonly issues: readonly { code: string; message: string; span: readonly [number, number] }[];
  readonly would_decide: WouldDecide;
  /** Whitelist rules that would have covered a segment but were refused (gitops checks), and why. */
  readonly whitelist_refused: readonly Refusal[];
  /** Who submitted it: the OS account and host the gate ran under (absent in old records). */
  readonly submitter?: Submitter;
  /** Submitted to a resident gate (`serve`): the identity it authenticated as, and how. */
  readonly via?: SubmissionChannel;
  /** When the command times out unless a reviewer decides (pending commands only). */
  readonly deadline?: string | null;
  /** The system's monotonic clock at submission, so another process can measure latency. */
  readonly monotonic?: MonotonicStamp | null;
  /** Present when the input was over the size limit: `command` holds only its first bytes. */
  readonly truncated?: TruncatedInput;
  /**
   * With working hours in gate.yaml: the local time the command was judged at (ISO 8601 with the
   * offset, to the second: 2026-01-07T23:10:00+01:00) and the zone it was judged in.
   */
  readonly local_time?: string;
  readonly time_zone?: string;
  readonly policy_revision: string;
  /** sha256 of the policy files, exact even when the revision is `-dirty`. */
  readonly policy_content: string;
  readonly gate_version: string;
}

/**
 * An input larger than the gate's limit (gate.yaml limits.max_command_bytes): the record's
 * `command` is only its first bytes; this says what the whole was.
 */
export interface TruncatedInput {
  /** Bytes read (all of them, unless `complete` is false). */
  readonly bytes: number;
  /** SHA-256 (hex) of those bytes. */
  readonly sha256: string;
  /** False when reading stopped at the gate's ceiling (1 GiB) before the input ended. */
  readonly complete: boolean;
  /** The limit it exceeded. */
  readonly limit: number;
}

/** How a submission reached a resident gate: its API identity (a token's, or the local socket's). */
export interface SubmissionChannel {
  readonly channel: 'http' | 'socket';
  /** The identity the request authenticated as (a token's name; `local` on the Unix socket without one). */
  readonly identity: string;
  /** The token's id (never the token); null on the socket without a token. */
  readonly token_id: string | null;
}

export interface Submitter {
  readonly user: string;
  readonly uid: number;
  readonly host: string;
}

/** A reading of the system-wide monotonic clock (CLOCK_MONOTONIC), valid within one boot. */
export interface MonotonicStamp {
  readonly boot_id: string;
  readonly ms: number;
}

/** What a reviewer signs: one decision about one exact submission. */
export interface DecisionStatement {
  readonly v: 'policy-gate/decision/v1';
  readonly command_id: string;
  /** Leaf hash of the SUBMITTED event: binds the decision to the exact command and context. */
  readonly submitted_leaf: string;
  readonly decision: 'approve' | 'deny';
  readonly reviewer: string;
  readonly reason: string | null;
  readonly signed_at: string;
}

/** How a reviewer's decision was proven: an SSH signature, a passkey (WebAuthn), or a token alone. */
export type ProofKind = 'ssh' | 'webauthn' | 'token';

interface DecisionProofBase {
  readonly reviewer: string;
  /** The exact statement decided: canonical JSON of a DecisionStatement. */
  readonly statement: string;
  /** The OS account the decision was submitted from (not signed: context only). */
  readonly submitted_from: { readonly user: string; readonly host: string };
}

/** Signed with the reviewer's SSH key: re-verifiable offline with ssh-keygen -Y verify. */
export interface SshSignedDecision extends DecisionProofBase {
  /** Absent in records written before other proofs existed. */
  readonly proof?: 'ssh';
  readonly key_fingerprint: string;
  /** Armored SSHSIG over `statement`, namespace policy-gate. */
  readonly signature: string;
}

/**
 * Signed with a passkey registered to the reviewer (PASSKEY_REGISTERED earlier in the trail):
 * the challenge was SHA-256 of `statement`; all base64url, as the browser returned them.
 */
export interface WebAuthnSignedDecision extends DecisionProofBase {
  readonly proof: 'webauthn';
  readonly credential_id: string;
  readonly authenticator_data: string;
  readonly client_data_json: string;
  /** The assertion's signature over authenticator_data ‖ SHA-256(client_data_json). */
  readonly signature: string;
}

/**
 * Not signed: the server vouched for the reviewer by the API token they used (only where
 * gate.yaml review.token_decisions allows it). Nothing in the trail proves it after the fact.
 */
export interface TokenDecision extends DecisionProofBase {
  readonly proof: 'token';
  /** The id of the token (never the secret). */
  readonly token_id: string;
}

/** A reviewer's decision as stored, with its proof. */
export type SignedDecision = SshSignedDecision | WebAuthnSignedDecision | TokenDecision;

/** The proof kind of a stored decision (records without one are SSH-signed). */
export function proofKind(d: SignedDecision): ProofKind {
  return d.proof ?? 'ssh';
}

/** What proves a decision, for people: the SSH key's `SHA256:…`, `passkey <credential id>`, `token <id> (unsigned)`. */
export function proofLabel(d: SignedDecision): string {
  switch (d.proof) {
    case 'webauthn':
      return `passkey ${d.credential_id}`;
    case 'token':
      return `token ${d.token_id} (unsigned)`;
    default:
      return d.key_fingerprint;
  }
}

export interface DecidedBody {
  readonly type: 'DECIDED';
  readonly command_id: string;
  readonly decision: Decision;
  /** A reviewer identity, `whitelist_rule:<id>[+<id>…]`, `policy_rule:<id>` or `timeout`. */
  readonly decided_by: string;
  readonly decided_at: string;
  /** Milliseconds from submission to decision, on a monotonic clock. */
  readonly review_latency_ms: number;
  readonly policy_revision: string;
  /** Hex leaf hash of the SUBMITTED event this decides. */
  readonly submitted_leaf: string;
  readonly reason: string | null;
  /** For whitelisted decisions: where each rule used comes from. */
  readonly whitelist_provenance: readonly ProvenanceEntry[];
  /** For reviewers' decisions: every signed decision that made it (absent in old records). */
  readonly signatures?: readonly SignedDecision[];
}

/** A reviewer's accepted approval that does not yet make the decision (two-person rule). */
export interface ReviewedBody {
  readonly type: 'REVIEWED';
  readonly command_id: string;
  readonly at: string;
  readonly reviewer: string;
  readonly signed: SignedDecision;
  readonly approvals: number;
  readonly approvals_needed: number;
}

export type RefusalCode =
  | 'unsigned'
  | 'malformed'
  | 'unknown-reviewer'
  | 'wrong-key'
  | 'bad-signature'
  | 'wrong-command'
  | 'no-role'
  | 'self-approval'
  | 'same-account'
  | 'duplicate-reviewer'
  | 'already-decided'
  | 'expired'
  | 'policy-mismatch'
  | 'unknown-credential';

/** A decision the gate would not accept, and why. */
export interface ReviewRefusedBody {
  readonly type: 'REVIEW_REFUSED';
  readonly command_id: string;
  readonly at: string;
  readonly refusal: RefusalCode;
  readonly message: string;
  /** Who the decision claimed to come from, as given (unauthenticated). */
  readonly claimed_reviewer: string | null;
  readonly decision: 'approve' | 'deny' | null;
  readonly statement: string | null;
  readonly signature: string | null;
  /** The passkey assertion or token given instead of an SSH signature, as given. */
  readonly proof?: SubmittedProof;
  readonly submitted_from: { readonly user: string; readonly host: string };
}

/** A proof of a decision other than an SSH signature, as a front end submits it. */
export type SubmittedProof =
  | {
      readonly kind: 'webauthn';
      readonly credential_id: string;
      readonly authenticator_data: string;
      readonly client_data_json: string;
      readonly signature: string;
    }
  | {
      readonly kind: 'token';
      readonly token_id: string;
      /** The reviewer the token belongs to (the server authenticated it). */
      readonly reviewer: string;
    };

export interface EscalatedBody {
  readonly type: 'ESCALATED';
  readonly command_id: string;
  readonly at: string;
  readonly after_seconds: number;
  readonly notifier: readonly string[];
  /** Why the notifier could not be started, if it could not. */
  readonly error: string | null;
}

export interface ExecStartBody {
  readonly type: 'EXEC_START';
  readonly command_id: string;
  readonly started_at: string;
  /** Leaf hash of the DECIDED event that allowed it. */
  readonly decided_leaf: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  /** Variables removed from the environment before running. */
  readonly env_removed: readonly string[];
  /** The recording's path, relative to the store's directory. */
  readonly recording: string;
}

export interface Recording {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ExecEndBody {
  readonly type: 'EXEC_END';
  readonly command_id: string;
  readonly started_at: string;
  readonly ended_at: string;
  readonly duration_ms: number;
  /** The command's exit code (128 + n when killed by signal n). */
  readonly exit_code: number;
  readonly signal: string | null;
  readonly recording: Recording | null;
  /** Why no recording could be kept, if it could not. */
  readonly recording_error: string | null;
}

/** The gate itself: a store created, a long-running component (the review queue) started or stopped. */
export interface GateLifecycleBody {
  readonly type: 'GATE_START' | 'GATE_STOP';
  readonly command_id: null;
  readonly at: string;
  readonly component: string;
  readonly gate_version: string;
  readonly pid: number;
  readonly host: string;
  readonly user: string;
}

/** A write to the trail that failed (recorded later, from the spool, by the next writer). */
export interface WriteFailedBody {
  readonly type: 'WRITE_FAILED';
  readonly command_id: null;
  readonly at: string;
  /** When the write failed (`at` is when it was recorded). */
  readonly failed_at: string;
  readonly event_type: string;
  readonly failed_command_id: string | null;
  readonly error: string;
  readonly pid: number;
}

/** The gate's checkpoint key replaced: the statement is signed by the old key and the new one. */
export interface KeyRotatedBody {
  readonly type: 'KEY_ROTATED';
  readonly command_id: null;
  readonly at: string;
  readonly old_key: string;
  readonly new_key: string;
  /** `policy-gate/key-rotation/v1\n<old key>\n<new key>\n<at>\n` */
  readonly statement: string;
  readonly old_signature: string;
  readonly new_signature: string;
}

/**
 * A passkey registered to a reviewer: its decisions signed with this credential verify against
 * this public key. The registration ceremony was verified by the server that recorded it; a
 * later registration of the same credential id (to the same reviewer) replaces it.
 */
export interface PasskeyRegisteredBody {
  readonly type: 'PASSKEY_REGISTERED';
  readonly command_id: null;
  /** When it was registered. */
  readonly at: string;
  readonly reviewer: string;
  /** base64url, as WebAuthn names it. */
  readonly credential_id: string;
  /** The COSE_Key, base64url. */
  readonly public_key: string;
  /** COSE algorithm: -7 (ES256), -8 (EdDSA) or -257 (RS256). */
  readonly alg: number;
  readonly rp_id: string;
  /** The origin the ceremony ran at: assertions must come from it too. */
  readonly origin: string;
  /** Who registered it, and how they were authenticated (an API token). */
  readonly registered_by: { readonly identity: string; readonly via: string };
  readonly transports?: readonly string[];
  readonly aaguid?: string;
  readonly user_verified: boolean;
  /** The policy whose reviewers.yaml listed the reviewer. */
  readonly policy_revision: string;
}

/** A registered passkey, as the trail records it. */
export type Passkey = Omit<PasskeyRegisteredBody, 'type' | 'command_id'>;

export type GateEventBody = GateLifecycleBody | WriteFailedBody | KeyRotatedBody | PasskeyRegisteredBody;

export type EventBody =
  | SubmittedBody
  | DecidedBody
  | ReviewedBody
  | ReviewRefusedBody
  | EscalatedBody
  | ExecStartBody
  | ExecEndBody
  | GateEventBody;

/** The time an event happened (the `at` column). */
export function eventTime(body: EventBody): string {
  switch (body.type) {
    case 'SUBMITTED':
      return body.submitted_at;
    case 'DECIDED':
      return body.decided_at;
    case 'EXEC_START':
      return body.started_at;
    case 'EXEC_END':
      return body.ended_at;
    default:
      return body.at;
  }
}

/** A run of the command through `exec`. */
export interface Execution {
  readonly started_at: string;
  readonly ended_at: string | null;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly duration_ms: number | null;
  readonly recording: Recording | null;
  /** Where the recording was being written (the path is known before it ends). */
  readonly recording_path: string;
}

export interface StoredEvent {
  readonly seq: number;
  readonly type: EventType;
  readonly command_id: string | null;
  readonly at: string;
  readonly body: EventBody;
  /** The canonical bytes as stored. */
  readonly bytes: Buffer;
  readonly leaf: string;
  readonly chain: string;
}

/** One command as the trail shows it: its submission and, once decided, the decision. */
export interface CommandRecord {
  readonly command_id: string;
  readonly submitted_at: string;
  readonly command: string;
  readonly session_id: string | null;
  readonly agent: string | null;
  readonly cwd: string | null;
  readonly intent: string | null;
  readonly decision: CommandState;
  readonly decided_by: string | null;
  readonly decided_at: string | null;
  readonly review_latency_ms: number | null;
  readonly risk_score: number;
  readonly risk_level: Level;
  readonly signals: readonly Signal[];
  readonly segments: readonly SegmentReport[];
  readonly issues: SubmittedBody['issues'];
  readonly policy_revision: string;
  readonly reason: string | null;
  readonly whitelist_provenance: readonly ProvenanceEntry[];
  readonly whitelist_refused: readonly Refusal[];
  readonly deadline: string | null;
  /** Set when `command` is only the first bytes of an input over the size limit. */
  readonly truncated: TruncatedInput | null;
  /** The local time and zone off-hours were judged in (null without working hours, or in old records). */
  readonly local_time: string | null;
  readonly time_zone: string | null;
  /** Submitted through a resident gate: the API identity (null for the CLI, hooks, and old records). */
  readonly via: SubmissionChannel | null;
  /** The reviewers whose signed decisions made it, with their signatures. */
  readonly signatures: readonly SignedDecision[];
  readonly execution: Execution | null;
}

export function commandRecord(
  submitted: SubmittedBody,
  decided: DecidedBody | null,
  start: ExecStartBody | null = null,
  end: ExecEndBody | null = null,
): CommandRecord {
  return {
    command_id: submitted.command_id,
    submitted_at: submitted.submitted_at,
    command: submitted.command,
    session_id: submitted.session_id,
    agent: submitted.agent,
    cwd: submitted.cwd,
    intent: submitted.intent,
    decision: decided?.decision ?? 'pending',
    decided_by: decided?.decided_by ?? null,
    decided_at: decided?.decided_at ?? null,
    review_latency_ms: decided?.review_latency_ms ?? null,
    risk_score: submitted.risk_score,
    risk_level: submitted.risk_level,
    signals: submitted.signals,
    segments: submitted.segments,
    issues: submitted.issues,
    policy_revision: decided?.policy_revision ?? submitted.policy_revision,
    reason: decided?.reason ?? null,
    whitelist_provenance: decided?.whitelist_provenance ?? [],
    whitelist_refused: submitted.whitelist_refused ?? [],
    deadline: submitted.deadline ?? null,
    truncated: submitted.truncated ?? null,
    local_time: submitted.local_time ?? null,
    time_zone: submitted.time_zone ?? null,
    via: submitted.via ?? null,
    // every decision shows its proof; old records were all SSH-signed
    signatures: (decided?.signatures ?? []).map((d) => (d.proof ? d : { ...d, proof: 'ssh' as const })),
    execution: start
      ? {
          started_at: start.started_at,
          ended_at: end?.ended_at ?? null,
          exit_code: end?.exit_code ?? null,
          signal: end?.signal ?? null,
          duration_ms: end?.duration_ms ?? null,
          recording: end?.recording ?? null,
          recording_path: start.recording,
        }
      : null,
  };
}
