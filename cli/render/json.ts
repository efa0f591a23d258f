/**
 * The JSON shapes of --json output that are not a stored record as it is, so that every front
 * end prints and serves the same documents.
 */
import type { Assessment } from '../../engine/index.js';
import type { ReviewView } from './record.js';

/** An assessment (assess --json, one line of assess --jsonl). */
export function assessmentJson(a: Assessment): Record<string, unknown> {
  return {
    command: a.command,
    risk_score: a.risk_score,
    risk_level: a.risk_level,
    signals: a.signals,
    segments: a.segments,
    issues: a.issues,
    would_decide: a.would_decide,
    decided_by: a.decided_by,
    whitelist_provenance: a.whitelist_provenance,
    whitelist_refused: a.whitelist_refused,
    policy_revision: a.policy_revision,
    local_time: a.local_time,
    time_zone: a.time_zone,
  };
}

/** A command in the review queue (review list --json): the record with the review's state. */
export function queueItemJson(v: ReviewView): Record<string, unknown> {
  return {
    ...v.record,
    approvals: v.approvals,
    approvals_needed: v.approvals_needed,
    time_left_ms: v.time_left_ms,
  };
}
