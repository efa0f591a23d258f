/**
 * Audit events and the command records derived from them. Events are immutable; a command's
 * state is whatever its events say (SUBMITTED, then at most one DECIDED).
 */
import type { ProvenanceEntry, Signal, SegmentReport } from '../gate/assess.js';
import type { Refusal } from '../whitelist/coverage.js';
import type { RiskLevel } from '../risk/score.js';

export type EventType = 'SUBMITTED' | 'DECIDED';
export type Decision = 'approved' | 'denied' | 'whitelisted' | 'timed_out';
export type CommandState = Decision | 'pending';

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
  readonly risk_level: RiskLevel;
  readonly signals: readonly Signal[];
  readonly segments: readonly SegmentReport[];
  readonly issues: readonly { code: string; message: string; span: readonly [number, number] }[];
  readonly would_decide: 'whitelisted' | 'denied' | 'pending';
  /** Whitelist rules that would have covered a segment but were refused (gitops checks), and why. */
  readonly whitelist_refused: readonly Refusal[];
  readonly policy_revision: string;
  /** sha256 of the policy files, exact even when the revision is `-dirty`. */
  readonly policy_content: string;
  readonly gate_version: string;
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
}

export type EventBody = SubmittedBody | DecidedBody;

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
  readonly risk_level: RiskLevel;
  readonly signals: readonly Signal[];
  readonly segments: readonly SegmentReport[];
  readonly issues: SubmittedBody['issues'];
  readonly policy_revision: string;
  readonly reason: string | null;
  readonly whitelist_provenance: readonly ProvenanceEntry[];
  readonly whitelist_refused: readonly Refusal[];
}

export function commandRecord(submitted: SubmittedBody, decided: DecidedBody | null): CommandRecord {
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
  };
}
