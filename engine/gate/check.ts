/**
 * `check`: assess a command, record the attempt durably, decide or wait for a reviewer, record
 * the decision. The SUBMITTED event is committed before anything is returned; if it cannot be
 * written, the caller gets an error and the command must not run.
 */
import { ulid } from 'ulid';
import type { AuditStore } from '../audit/store.js';
import {
  commandRecord,
  type CommandRecord,
  type DecidedBody,
  type Submitter,
  type SubmittedBody,
  type TruncatedInput,
} from '../model/events.js';
import { GateError } from '../util/errors.js';
import type { Policy } from './load-policy.js';
import { VERSION } from '../util/version.js';
import { assess, type Assessment } from './assess.js';
import { escalate } from './escalate.js';
import { currentBootId, osIdentity } from './identity.js';

export interface Clock {
  /** Wall-clock time (may be replayed from `--now`). */
  wall(): Date;
  /**
   * Monotonic milliseconds, for durations. The system clock's readings are system-wide
   * (CLOCK_MONOTONIC), so two processes of one boot can measure between them.
   */
  monotonic(): number;
  /** The boot the monotonic readings belong to; null when they are only process-local. */
  bootId(): string | null;
  sleep(ms: number): Promise<void>;
}

/** A waiting gate signs a checkpoint at least this often. */
export const CHECKPOINT_INTERVAL_MS = 60_000;

const systemMonotonic = (): number => Number(process.hrtime.bigint() / 1000n) / 1000;

/** The system clock, optionally started at a replayed instant and advancing in real time. */
export function systemClock(start?: Date): Clock {
  const m0 = systemMonotonic();
  const w0 = start ? start.getTime() : null;
  return {
    wall: () => new Date(w0 === null ? Date.now() : w0 + Math.floor(systemMonotonic() - m0)),
    monotonic: systemMonotonic,
    bootId: currentBootId,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/**
 * When a decision made now is recorded, and how long after the submission: measured on the
 * monotonic clock when the submission's reading is from this boot, else from wall clocks. Never
 * before submitted_at, whatever the wall clock does.
 */
export function decisionTime(
  submitted: Pick<SubmittedBody, 'submitted_at' | 'monotonic'>,
  clock: Clock,
): { decided_at: string; review_latency_ms: number } {
  const stamp = submitted.monotonic;
  const submittedMs = Date.parse(submitted.submitted_at);
  const boot = clock.bootId();
  const latency =
    stamp && boot !== null && stamp.boot_id === boot
      ? clock.monotonic() - stamp.ms
      : clock.wall().getTime() - submittedMs;
  const ms = Math.max(0, Math.round(latency));
  return { decided_at: new Date(submittedMs + ms).toISOString(), review_latency_ms: ms };
}

/** The timed_out decision of a command nobody decided in time. */
export function timeoutDecision(
  submitted: SubmittedBody,
  submittedLeaf: string,
  clock: Clock,
  policyRevision: string,
  timeoutMs: number,
): DecidedBody {
  const seconds = Math.round(timeoutMs / 100) / 10;
  return {
    type: 'DECIDED',
    command_id: submitted.command_id,
    decision: 'timed_out',
    decided_by: 'timeout',
    ...decisionTime(submitted, clock),
    policy_revision: policyRevision,
    submitted_leaf: submittedLeaf,
    reason: `no reviewer decided within ${seconds} s`,
    whitelist_provenance: [],
    signatures: [],
  };
}

/** A waiting check records its own timeout: others leave it this long past the deadline. */
const EXPIRY_GRACE_MS = 2000;

/**
 * Record as timed_out every pending command nobody decided before its deadline, as the
 * waiting check would have (it may have been killed, or submitted with --no-wait). The wait is
 * measured as the check measures it (monotonic within one boot), so a submission replayed with
 * an earlier --now is not expired early. Returns how many were recorded.
 */
export function expireOverdue(store: AuditStore, clock: Clock): number {
  let expired = 0;
  for (const { submitted, leaf } of store.overdue(clock.wall())) {
    const timeoutMs = Date.parse(submitted.deadline!) - Date.parse(submitted.submitted_at);
    if (!(timeoutMs >= 0) || decisionTime(submitted, clock).review_latency_ms < timeoutMs + EXPIRY_GRACE_MS) continue;
    if (store.decide(timeoutDecision(submitted, leaf, clock, submitted.policy_revision, timeoutMs))) expired++;
  }
  return expired;
}

export interface CheckRequest {
  readonly command: string;
  readonly invalidUtf8?: boolean;
  /** `command` is only the first bytes of an input over the size limit (recorded, held, never run). */
  readonly truncated?: TruncatedInput | undefined;
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
  /** The project the command works in (projectRoot), null for none. */
  readonly project?: string | null | undefined;
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
  /** Who submits (default: this process's OS account). */
  readonly submitter?: Submitter;
  /** Told when a notifier could not be started (the CLI prints it); nothing else changes. */
  readonly warn?: (message: string) => void;
}

export interface CheckResult {
  readonly record: CommandRecord;
  readonly assessment: Assessment;
}

export async function check(req: CheckRequest, deps: CheckDependencies): Promise<CheckResult> {
  const { policy, store, clock } = deps;
  const started = clock.monotonic();
  const bootId = clock.bootId();
  const submittedAt = clock.wall();
  const burst = policy.gate.context.burst;
  const history = req.session ? store.sessionHistory(req.session, submittedAt, burst?.window_seconds ?? 60) : null;
  const assessment = assess(req.command, policy, {
    now: submittedAt,
    cwd: req.cwd,
    home: deps.home,
    project: req.project,
    history,
    agent: req.agent,
    session: req.session,
    repos: req.repos,
    requireReviewed: req.requireReviewed ?? false,
    invalidUtf8: req.invalidUtf8 ?? false,
    protectedPaths: deps.protectedPaths ?? [],
    truncated: req.truncated,
  });
  const timeoutMs = req.timeoutMs ?? assessment.timeout_ms;
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
    submitter: deps.submitter ?? osIdentity(),
    deadline: assessment.would_decide === 'pending' ? new Date(submittedAt.getTime() + timeoutMs).toISOString() : null,
    monotonic: bootId === null ? null : { boot_id: bootId, ms: Math.round(started) },
    ...(req.truncated ? { truncated: req.truncated } : {}),
    policy_revision: policy.revision,
    policy_content: policy.contentRevision,
    gate_version: VERSION,
  };
  const record = (body: DecidedBody): DecidedBody => {
    if (store.decide(body)) return body;
    const existing = store.decision(submitted.command_id);
    if (!existing)
      throw new GateError('store-write-failed', 'the decision was neither recorded nor found', {
        hint: 'the command must not run',
      });
    return existing;
  };

  if (assessment.would_decide !== 'pending') {
    // the submission and its decision commit together: a gate killed between them cannot leave a
    // submission that no decision will ever follow (and both are durable before the answer)
    const decision = store.atomically(() => {
      const event = store.submit(submitted);
      // measured within this process: the same monotonic clock as `started`
      const latency = Math.max(0, Math.round(clock.monotonic() - started));
      return record({
        type: 'DECIDED',
        command_id: submitted.command_id,
        decision: assessment.would_decide as Exclude<typeof assessment.would_decide, 'pending'>,
        decided_by: assessment.decided_by!,
        decided_at: new Date(submittedAt.getTime() + latency).toISOString(),
        review_latency_ms: latency,
        policy_revision: policy.revision,
        submitted_leaf: event.leaf,
        reason: null,
        whitelist_provenance: assessment.whitelist_provenance,
        signatures: [],
      });
    }, 'SUBMITTED');
    return { record: commandRecord(submitted, decision), assessment };
  }
  const event = store.submit(submitted);
  if (!req.wait) return { record: commandRecord(submitted, null), assessment };

  const pollMs = deps.pollMs ?? 50;
  const escalation = policy.gate.review?.escalation;
  let escalated = false;
  let lastCheckpoint = started;
  for (;;) {
    const existing = store.decision(submitted.command_id);
    if (existing) return { record: commandRecord(submitted, existing), assessment };
    const waited = clock.monotonic() - started;
    const left = timeoutMs - waited;
    if (left <= 0) break;
    if (deps.signal?.aborted) return { record: commandRecord(submitted, null), assessment };
    if (escalation && !escalated && waited >= escalation.after_seconds * 1000) {
      escalated = true;
      escalate(commandRecord(submitted, null), escalation, { store, clock, ...(deps.warn ? { warn: deps.warn } : {}) });
    }
    // a waiting command is covered by a signed checkpoint at least every minute
    if (clock.monotonic() - lastCheckpoint >= CHECKPOINT_INTERVAL_MS) {
      lastCheckpoint = clock.monotonic();
      store.checkpoint?.(clock.wall(), CHECKPOINT_INTERVAL_MS);
    }
    const untilEscalation = escalation && !escalated ? escalation.after_seconds * 1000 - waited : Infinity;
    await clock.sleep(Math.max(1, Math.min(pollMs, left, untilEscalation)));
  }
  return {
    record: commandRecord(submitted, record(timeoutDecision(submitted, event.leaf, clock, policy.revision, timeoutMs))),
    assessment,
  };
}
