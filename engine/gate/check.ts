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
import { GateError, describeCause } from '../util/errors.js';
import type { Policy } from './policy.js';
import { VERSION } from '../util/version.js';
import type { Assessment } from './assess.js';
import { assessRequest, type CheckRequest, type OnHeld } from './request.js';

export type { CheckRequest } from './request.js';
import { escalate } from './escalate.js';
import { systemClock, type Clock } from './clock.js';

export { systemClock, type Clock } from './clock.js';
import { osIdentity } from './identity.js';
import { pollingWaiter, type DecisionWaiter } from './waiter.js';

/** A waiting gate signs a checkpoint at least this often. */
export const CHECKPOINT_INTERVAL_MS = 60_000;

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
export async function expireOverdue(store: AuditStore, clock: Clock): Promise<number> {
  let expired = 0;
  for (const { submitted, leaf } of await store.overdue(clock.wall())) {
    const timeoutMs = Date.parse(submitted.deadline!) - Date.parse(submitted.submitted_at);
    if (!(timeoutMs >= 0) || decisionTime(submitted, clock).review_latency_ms < timeoutMs + EXPIRY_GRACE_MS) continue;
    if (await store.decide(timeoutDecision(submitted, leaf, clock, submitted.policy_revision, timeoutMs))) expired++;
  }
  return expired;
}

/** Tell `onHeld` that a command is held (see OnHeld): a display that fails changes nothing here. */
function tellHeld(
  onHeld: OnHeld | undefined,
  record: CommandRecord,
  waitMs: number,
  warn: ((message: string) => void) | undefined,
): void {
  if (!onHeld) return;
  try {
    onHeld(record, Math.max(0, waitMs));
  } catch (err) {
    warn?.(`could not show the wait for ${record.command_id}: ${describeCause(err)}`);
  }
}

export interface CheckDependencies {
  readonly policy: Policy;
  readonly store: AuditStore;
  readonly clock: Clock;
  readonly home?: string | undefined;
  readonly protectedPaths?: readonly string[];
  /** The system's time zone: off-hours are judged in it when gate.yaml names none. */
  readonly timeZone?: string | undefined;
  /** How the wait learns of a reviewer's decision (default: polling the store every `pollMs`). */
  readonly waiter?: DecisionWaiter;
  /** How often the default waiter reads the store (POLL_MS). */
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
  const { policy, store } = deps;
  // a replayed check (request.now) runs on a clock started at that instant, advancing in real time
  const clock = req.now ? systemClock(req.now) : deps.clock;
  const started = clock.monotonic();
  const bootId = clock.bootId();
  const submittedAt = clock.wall();
  // the submission's time is the assessment's: bursts and off-hours are judged as of then
  const assessment = await assessRequest({ ...req, now: submittedAt }, deps);
  const timeoutMs = Math.min(req.timeoutMs ?? assessment.timeout_ms, req.maxTimeoutMs ?? Infinity);
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
    ...(req.via ? { via: req.via } : {}),
    deadline: assessment.would_decide === 'pending' ? new Date(submittedAt.getTime() + timeoutMs).toISOString() : null,
    monotonic: bootId === null ? null : { boot_id: bootId, ms: Math.round(started) },
    ...(req.truncated ? { truncated: req.truncated } : {}),
    ...(assessment.local_time !== null && assessment.time_zone !== null
      ? { local_time: assessment.local_time, time_zone: assessment.time_zone }
      : {}),
    policy_revision: policy.revision,
    policy_content: policy.contentRevision,
    gate_version: VERSION,
  };
  const record = async (body: DecidedBody): Promise<DecidedBody> => {
    if (await store.decide(body)) return body;
    const existing = await store.decision(submitted.command_id);
    if (!existing)
      throw new GateError('store-write-failed', 'the decision was neither recorded nor found', {
        hint: 'the command must not run',
      });
    return existing;
  };

  if (assessment.would_decide !== 'pending') {
    // the submission and its decision commit together: a gate killed between them cannot leave a
    // submission that no decision will ever follow (and both are durable before the answer)
    const decision = await store.atomically(async (tx) => {
      const event = await tx.submit(submitted);
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
  const event = await store.submit(submitted);
  if (!req.wait) return { record: commandRecord(submitted, null), assessment };
  tellHeld(req.onHeld, commandRecord(submitted, null), timeoutMs - (clock.monotonic() - started), deps.warn);

  const waiter = deps.waiter ?? pollingWaiter(store, clock, deps.pollMs);
  const escalation = policy.gate.review?.escalation;
  let escalated = false;
  let lastCheckpoint = started;
  for (;;) {
    const waited = clock.monotonic() - started;
    const left = timeoutMs - waited;
    if (deps.signal?.aborted) return { record: commandRecord(submitted, null), assessment };
    if (escalation && !escalated && waited >= escalation.after_seconds * 1000) {
      escalated = true;
      await escalate(commandRecord(submitted, null), escalation, {
        store,
        clock,
        ...(deps.warn ? { warn: deps.warn } : {}),
      });
    }
    // a waiting command is covered by a signed checkpoint at least every minute
    if (clock.monotonic() - lastCheckpoint >= CHECKPOINT_INTERVAL_MS) {
      lastCheckpoint = clock.monotonic();
      await store.checkpoint(clock.wall(), CHECKPOINT_INTERVAL_MS);
    }
    const untilEscalation = escalation && !escalated ? escalation.after_seconds * 1000 - waited : Infinity;
    const untilCheckpoint = CHECKPOINT_INTERVAL_MS - (clock.monotonic() - lastCheckpoint);
    const existing = await waiter.next(
      submitted.command_id,
      Math.max(0, Math.min(left, untilEscalation, untilCheckpoint)),
      deps.signal,
    );
    if (existing) return { record: commandRecord(submitted, existing), assessment };
    if (clock.monotonic() - started >= timeoutMs) break;
  }
  return {
    record: commandRecord(
      submitted,
      await record(timeoutDecision(submitted, event.leaf, clock, policy.revision, timeoutMs)),
    ),
    assessment,
  };
}

/**
 * Wait again for a command's decision: a `--no-wait` submission, or a check that was
 * interrupted. Until the command's deadline, or `limitMs` when that is sooner; a command past
 * its deadline with no decision is timed out here, as its waiting check would have done.
 * Returns the command's record as it then stands (still pending only when `limitMs` or the
 * signal ended the wait first).
 */
export async function resumeWait(
  commandId: string,
  deps: {
    readonly store: AuditStore;
    readonly clock: Clock;
    readonly waiter?: DecisionWaiter | undefined;
    readonly limitMs?: number | undefined;
    readonly signal?: AbortSignal | undefined;
    /** Told when the wait begins (not when the command is already decided or past its deadline). */
    readonly onHeld?: OnHeld | undefined;
    readonly warn?: ((message: string) => void) | undefined;
  },
): Promise<CommandRecord> {
  const { store, clock } = deps;
  const events = await store.commandEvents(commandId);
  const submittedEvent = events.find((e) => e.type === 'SUBMITTED');
  if (!submittedEvent)
    throw new GateError('not-found', `no command ${commandId} in the audit trail ${store.location}`, {
      hint: 'see: policy-gate audit --decision pending',
    });
  const submitted = submittedEvent.body as SubmittedBody;
  const current = async (): Promise<CommandRecord> => (await store.command(commandId))!;
  if (events.some((e) => e.type === 'DECIDED') || !submitted.deadline) return current();
  const deadline = Date.parse(submitted.deadline);
  const waiter = deps.waiter ?? pollingWaiter(store, clock);
  const untilDeadline = deadline - clock.wall().getTime();
  const ms = Math.max(0, Math.min(untilDeadline, deps.limitMs ?? Infinity));
  if (ms > 0 && deps.onHeld) tellHeld(deps.onHeld, await current(), ms, deps.warn);
  if (ms > 0 && (await waiter.next(commandId, ms, deps.signal))) return current();
  if (!deps.signal?.aborted && clock.wall().getTime() >= deadline) {
    const timeoutMs = deadline - Date.parse(submitted.submitted_at);
    await store.decide(timeoutDecision(submitted, submittedEvent.leaf, clock, submitted.policy_revision, timeoutMs));
  }
  return current();
}
