/**
 * `check`: assess a command, record the attempt durably, decide or wait for a reviewer, record
 * the decision. The SUBMITTED event is committed before anything is returned; if it cannot be
 * written, the caller gets an error and the command must not run.
 */
import { ulid } from 'ulid';
import type { AuditStore } from '../audit/store.js';
import { commandRecord, type CommandRecord, type DecidedBody, type Decision, type SubmittedBody } from '../audit/events.js';
import { GateError } from '../errors.js';
import type { Policy } from '../policy/load.js';
import { VERSION } from '../version.js';
import { assess, type Assessment } from './assess.js';

export interface Clock {
  /** Wall-clock time (may be replayed from `--now`). */
  wall(): Date;
  /** Monotonic milliseconds, for durations. */
  monotonic(): number;
  sleep(ms: number): Promise<void>;
}

/** The system clock, optionally started at a replayed instant and advancing in real time. */
export function systemClock(start?: Date): Clock {
  const m0 = performance.now();
  const w0 = start ? start.getTime() : null;
  return {
    wall: () => new Date(w0 === null ? Date.now() : w0 + Math.floor(performance.now() - m0)),
    monotonic: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

export interface CheckRequest {
  readonly command: string;
  readonly invalidUtf8?: boolean;
  readonly session?: string | undefined;
  readonly agent?: string | undefined;
  readonly intent?: string | undefined;
  readonly cwd?: string | undefined;
  /** Override the policy's timeout for this level (ms). */
  readonly timeoutMs?: number | undefined;
  /** Wait for a reviewer's decision (or the timeout) when the command is pending. */
  readonly wait: boolean;
  /** Identifiers of the repository the command runs in, for scoped whitelist rules. */
  readonly repos?: readonly string[] | undefined;
  /** Use only whitelist rules that pass the gitops review checks. */
  readonly requireReviewed?: boolean;
}

export interface CheckDependencies {
  readonly policy: Policy;
  readonly store: AuditStore;
  readonly clock: Clock;
  readonly home?: string | undefined;
  readonly protectedPaths?: readonly string[];
  /** How often to look for a reviewer's decision while waiting. */
  readonly pollMs?: number;
  /** Stop waiting (the command stays pending in the trail). */
  readonly signal?: AbortSignal;
}

export interface CheckResult {
  readonly record: CommandRecord;
  readonly assessment: Assessment;
}

export async function check(req: CheckRequest, deps: CheckDependencies): Promise<CheckResult> {
  const { policy, store, clock } = deps;
  const started = clock.monotonic();
  const submittedAt = clock.wall();
  const burst = policy.gate.context.burst;
  const history = req.session ? store.sessionHistory(req.session, submittedAt, burst?.window_seconds ?? 60) : null;
  const assessment = assess(req.command, policy, {
    now: submittedAt,
    cwd: req.cwd,
    home: deps.home,
    history,
    agent: req.agent,
    session: req.session,
    repos: req.repos,
    requireReviewed: req.requireReviewed ?? false,
    invalidUtf8: req.invalidUtf8 ?? false,
    protectedPaths: deps.protectedPaths ?? [],
  });
  const submitted: SubmittedBody = {
    type: 'SUBMITTED',
    command_id: ulid(submittedAt.getTime()),
    submitted_at: submittedAt.toISOString(),
    command: req.command,
    session_id: req.session ?? null,
    agent: req.agent ?? null,
    cwd: req.cwd ?? null,
    intent: req.intent ?? null,
    risk_score: assessment.risk_score,
    risk_level: assessment.risk_level,
    signals: assessment.signals,
    segments: assessment.segments,
    issues: assessment.issues,
    would_decide: assessment.would_decide,
    whitelist_refused: assessment.whitelist_refused,
    policy_revision: policy.revision,
    policy_content: policy.contentRevision,
    gate_version: VERSION,
  };
  const event = store.submit(submitted);

  const decide = (decision: Decision, decidedBy: string, reason: string | null, provenance: DecidedBody['whitelist_provenance'] = []): DecidedBody => {
    const body: DecidedBody = {
      type: 'DECIDED',
      command_id: submitted.command_id,
      decision,
      decided_by: decidedBy,
      // derived from the monotonic clock, so never before submitted_at
      decided_at: new Date(submittedAt.getTime() + Math.max(0, Math.floor(clock.monotonic() - started))).toISOString(),
      review_latency_ms: Math.max(0, Math.round(clock.monotonic() - started)),
      policy_revision: policy.revision,
      submitted_leaf: event.leaf,
      reason,
      whitelist_provenance: provenance,
    };
    if (store.decide(body)) return body;
    const existing = store.decision(submitted.command_id);
    if (!existing) throw new GateError('store-write-failed', 'the decision was neither recorded nor found', { hint: 'the command must not run' });
    return existing;
  };

  if (assessment.would_decide !== 'pending') {
    const decision = decide(assessment.would_decide, assessment.decided_by!, null, assessment.whitelist_provenance);
    return { record: commandRecord(submitted, decision), assessment };
  }
  if (!req.wait) return { record: commandRecord(submitted, null), assessment };

  const timeoutMs = req.timeoutMs ?? assessment.timeout_ms;
  const pollMs = deps.pollMs ?? 100;
  for (;;) {
    const existing = store.decision(submitted.command_id);
    if (existing) return { record: commandRecord(submitted, existing), assessment };
    const left = timeoutMs - (clock.monotonic() - started);
    if (left <= 0) break;
    if (deps.signal?.aborted) return { record: commandRecord(submitted, null), assessment };
    await clock.sleep(Math.min(pollMs, left));
  }
  const seconds = Math.round(timeoutMs / 100) / 10;
  const decision = decide('timed_out', 'timeout', `no reviewer decided within ${seconds} s`);
  return { record: commandRecord(submitted, decision), assessment };
}
