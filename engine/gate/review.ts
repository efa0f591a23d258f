/**
 * Reviewers' decisions. A decision is a statement about one exact submission (its command id
 * and the leaf hash of its SUBMITTED event), proven by a reviewer listed in reviewers.yaml (with
 * their SSH key, a passkey registered in the trail, or where allowed an API token: proofs.ts).
 * The gate accepts it only when the proof holds for that reviewer in the policy the command was
 * submitted under, the reviewer may decide, is not deciding their own command, and the command
 * is still waiting. Everything
 * else is refused, and the refused attempt is recorded.
 *
 * Approvals may need several distinct reviewers (review.approvals in gate.yaml): each accepted
 * approval short of the number is a REVIEWED event; the one that completes it appends DECIDED
 * with every signature. One deny is enough. All of this happens in one write transaction, so two
 * reviewers deciding at once cannot both win or both be counted short.
 */
import { canonicalJson, type Canonical } from '../util/canonical.js';
import {
  type CommandRecord,
  type DecidedBody,
  type DecisionStatement,
  type Passkey,
  type RefusalCode,
  type ReviewedBody,
  type SignedDecision,
  type StoredEvent,
  type SubmittedBody,
} from '../model/events.js';
import type { AuditStore } from '../audit/store.js';
import { GateError } from '../util/errors.js';
import type { Policy } from './policy.js';
import { LEVELS, levelRank, type Level } from '../model/verdict.js';
import { decisionTime, timeoutDecision } from './check.js';
import type { Clock } from './clock.js';
import { signWithSshKeygen } from '../util/sshsig.js';
import { systemClock } from './clock.js';
import { osIdentity } from './identity.js';
import { registeredPasskeys } from './passkeys.js';
import { checkProof, proofPresent, sshSigner, type DecisionSubmission } from './proofs.js';
import { effectiveReviewers, type Reviewer } from './reviewers.js';

export type { DecisionSubmission } from './proofs.js';

export const STATEMENT_VERSION = 'policy-gate/decision/v1';

/** Distinct reviewers needed to approve a command of this level: the strictest setting at or below it. */
export function approvalsNeeded(policy: Policy, level: Level): number {
  const approvals = policy.gate.review?.approvals ?? {};
  let need = 1;
  for (const l of LEVELS.slice(0, levelRank(level) + 1)) need = Math.max(need, approvals[l] ?? 1);
  return need;
}

/** The identity that submitted a command: the agent when one was named, else the OS account. */
export function submittingIdentity(submitted: Pick<SubmittedBody, 'agent' | 'submitter'>): string | null {
  return submitted.agent ?? submitted.submitter?.user ?? null;
}

/** The exact bytes a reviewer signs to decide a command. */
export function decisionStatement(fields: Omit<DecisionStatement, 'v'>): string {
  const statement: DecisionStatement = { v: STATEMENT_VERSION, ...fields };
  return canonicalJson(statement as unknown as Canonical);
}

/** The submission a decision has to name, or a not-found error. */
export async function submittedEvent(
  store: AuditStore,
  commandId: string,
): Promise<{ body: SubmittedBody; leaf: string }> {
  const event = (await store.commandEvents(commandId)).find((e) => e.type === 'SUBMITTED');
  if (!event)
    throw new GateError('not-found', `no command ${commandId} in the audit trail`, {
      hint: 'see: policy-gate review list',
    });
  return { body: event.body as SubmittedBody, leaf: event.leaf };
}

export type ReviewOutcome =
  | { readonly kind: 'decided'; readonly record: CommandRecord }
  | { readonly kind: 'counted'; readonly record: CommandRecord; readonly approvals: number; readonly needed: number }
  | { readonly kind: 'refused'; readonly code: RefusalCode; readonly message: string; readonly record: CommandRecord };

function parseStatement(text: string): DecisionStatement | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the statement is not JSON';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'the statement is not a JSON object';
  const s = value as Record<string, unknown>;
  const keys = ['command_id', 'decision', 'reason', 'reviewer', 'signed_at', 'submitted_leaf', 'v'];
  if (Object.keys(s).sort().join() !== keys.join())
    return `the statement must have exactly the fields ${keys.join(', ')}`;
  if (s.v !== STATEMENT_VERSION) return `the statement is not ${STATEMENT_VERSION}`;
  if (s.decision !== 'approve' && s.decision !== 'deny') return 'the statement decides neither approve nor deny';
  if (typeof s.command_id !== 'string' || typeof s.reviewer !== 'string' || typeof s.submitted_leaf !== 'string')
    return 'the statement has a field of the wrong type';
  if (s.reason !== null && typeof s.reason !== 'string') return 'the statement reason must be text or null';
  if (typeof s.signed_at !== 'string' || Number.isNaN(Date.parse(s.signed_at)))
    return 'the statement signed_at is not a time';
  if (canonicalJson(s as Canonical) !== text) return 'the statement is not in canonical form';
  return s as unknown as DecisionStatement;
}

/** What a reviewer's decision comes to, judged from the facts alone. */
export type Judgement =
  | {
      readonly kind: 'refuse';
      readonly code: RefusalCode;
      readonly message: string;
      /** The command is past its deadline: record this timed_out decision first. */
      readonly expire?: DecidedBody;
    }
  | { readonly kind: 'decide'; readonly decided: DecidedBody }
  | { readonly kind: 'count'; readonly reviewed: ReviewedBody; readonly approvals: number; readonly needed: number };

/** Everything a judgement reads: nothing is looked up while judging. */
export interface ReviewFacts {
  readonly submission: DecisionSubmission;
  /** The command's events so far (its SUBMITTED among them). */
  readonly events: readonly StoredEvent[];
  readonly policy: Policy;
  /** Who may decide (effectiveReviewers, resolved from Git beforehand), or why that is unknown. */
  readonly reviewers: { reviewers: ReadonlyMap<string, Reviewer>; source: string } | GateError;
  /** Passkeys registered in the trail so far, by credential id (read in the same transaction). */
  readonly passkeys: ReadonlyMap<string, Passkey>;
  readonly clock: Clock;
}

/**
 * Judge a reviewer's decision: a pure function of the facts (and the clock's reading), so it
 * runs inside the write transaction without calling Git or anything slow there.
 */
export function judgeDecision(facts: ReviewFacts): Judgement {
  const { submission: sub, events, policy, clock } = facts;
  const submittedEv = events.find((e) => e.type === 'SUBMITTED');
  if (!submittedEv)
    throw new GateError('not-found', `no command ${sub.command_id} in the audit trail`, {
      hint: 'see: policy-gate review list',
    });
  const submitted = submittedEv.body as SubmittedBody;
  const parsed = parseStatement(sub.statement);
  const statement = typeof parsed === 'string' ? null : parsed;
  const refuse = (code: RefusalCode, message: string, expire?: DecidedBody): Judgement => ({
    kind: 'refuse',
    code,
    message,
    ...(expire ? { expire } : {}),
  });

  const decidedEv = events.find((e) => e.type === 'DECIDED');
  if (decidedEv) {
    const decided = decidedEv.body as DecidedBody;
    return refuse('already-decided', `the command was already decided: ${decided.decision} by ${decided.decided_by}`);
  }
  if (submitted.deadline && clock.wall().getTime() > Date.parse(submitted.deadline)) {
    const timeoutMs = Date.parse(submitted.deadline) - Date.parse(submitted.submitted_at);
    return refuse(
      'expired',
      `the command timed out at ${submitted.deadline}; it will not run`,
      timeoutDecision(submitted, submittedEv.leaf, clock, policy.revision, timeoutMs),
    );
  }
  if (statement === null) return refuse('malformed', parsed as string);
  if (statement.command_id !== sub.command_id || statement.submitted_leaf !== submittedEv.leaf) {
    return refuse('wrong-command', 'the signed statement is about another submission than this command');
  }
  const unproven = proofPresent(sub, policy.gate.review?.token_decisions === true);
  if (unproven) return refuse(unproven.code, unproven.message);
  // who may decide is the policy's: the one the command was submitted under, not one the
  // decider brings along (with its own reviewers.yaml)
  if (submitted.policy_content && policy.contentRevision !== submitted.policy_content) {
    return refuse(
      'policy-mismatch',
      `the command was submitted under policy ${submitted.policy_content.slice(0, 19)}, the decision checked ` +
        `against ${policy.contentRevision.slice(0, 19)}: decide with the same policy (--policy / POLICY_GATE_POLICY)`,
    );
  }
  if (facts.reviewers instanceof GateError) throw facts.reviewers;
  const { reviewers, source } = facts.reviewers;
  const reviewer = reviewers.get(statement.reviewer);
  if (!reviewer) {
    const signer = sub.proof ? '' : sshSigner(sub, reviewers);
    return refuse('unknown-reviewer', `"${statement.reviewer}" is not a reviewer in ${source}${signer}`);
  }
  const proven = checkProof(sub, statement, reviewer, facts.passkeys);
  if (!proven.ok) return refuse(proven.code, proven.message);
  const roles = policy.gate.review?.roles;
  if (roles && !reviewer.roles.some((r) => roles.includes(r))) {
    return refuse('no-role', `${reviewer.id} has none of the roles that may decide (${roles.join(', ')})`);
  }
  const signed = proven.signed;
  const decide = (decision: 'approved' | 'denied', by: string, signatures: SignedDecision[]): Judgement => ({
    kind: 'decide',
    decided: {
      type: 'DECIDED',
      command_id: submitted.command_id,
      decision,
      decided_by: by,
      ...decisionTime(submitted, clock),
      policy_revision: policy.revision,
      submitted_leaf: submittedEv.leaf,
      reason: statement.reason,
      whitelist_provenance: [],
      signatures,
    },
  });
  if (statement.decision === 'deny') return decide('denied', reviewer.id, [signed]);

  const submitter = submittingIdentity(submitted);
  if (submitter !== null && (submitter === reviewer.id || reviewer.agents.includes(submitter))) {
    return refuse(
      'self-approval',
      `${reviewer.id} submitted this command${submitter === reviewer.id ? '' : ` (through agent ${submitter})`} ` +
        'and cannot approve it',
    );
  }
  if (
    policy.gate.review?.separate_accounts &&
    submitted.submitter &&
    submitted.submitter.user === sub.from.user &&
    submitted.submitter.host === sub.from.host
  ) {
    return refuse(
      'same-account',
      `the decision comes from ${sub.from.user}@${sub.from.host}, the account that submitted the command ` +
        '(review.separate_accounts)',
    );
  }
  const votes = events.filter((e) => e.type === 'REVIEWED').map((e) => e.body as ReviewedBody);
  if (votes.some((v) => v.reviewer === reviewer.id))
    return refuse('duplicate-reviewer', `${reviewer.id} has already approved this command; another reviewer must`);
  const needed = approvalsNeeded(policy, submitted.risk_level);
  const have = votes.length + 1;
  if (have >= needed)
    return decide('approved', [...votes.map((v) => v.reviewer), reviewer.id].join('+'), [
      ...votes.map((v) => v.signed),
      signed,
    ]);
  return {
    kind: 'count',
    reviewed: {
      type: 'REVIEWED',
      command_id: submitted.command_id,
      at: clock.wall().toISOString(),
      reviewer: reviewer.id,
      signed,
      approvals: have,
      approvals_needed: needed,
    },
    approvals: have,
    needed,
  };
}

/**
 * Apply a reviewer's decision: reviewers are resolved (from Git, when the policy says so)
 * before the write transaction; inside it the command's events are read, judged and the
 * outcome appended. Refusals are recorded as REVIEW_REFUSED. Throws only when the command does
 * not exist or the store fails.
 */
export async function applyDecision(
  sub: DecisionSubmission,
  deps: { policy: Policy; store: AuditStore; clock: Clock },
): Promise<ReviewOutcome> {
  const { policy, store, clock } = deps;
  let reviewers: ReviewFacts['reviewers'];
  try {
    reviewers = effectiveReviewers(policy);
  } catch (err) {
    if (!(err instanceof GateError)) throw err;
    reviewers = err;
  }
  return store.atomically(async (tx): Promise<ReviewOutcome> => {
    const events = await tx.commandEvents(sub.command_id);
    const passkeys = await registeredPasskeys(tx);
    const judgement = judgeDecision({ submission: sub, events, policy, reviewers, passkeys, clock });
    const current = async (): Promise<CommandRecord> => (await tx.command(sub.command_id))!;
    switch (judgement.kind) {
      case 'refuse': {
        if (judgement.expire) await tx.decide(judgement.expire);
        const parsed = parseStatement(sub.statement);
        const statement = typeof parsed === 'string' ? null : parsed;
        await tx.record({
          type: 'REVIEW_REFUSED',
          command_id: sub.command_id,
          at: clock.wall().toISOString(),
          refusal: judgement.code,
          message: judgement.message,
          claimed_reviewer: statement?.reviewer ?? null,
          decision: statement?.decision ?? null,
          statement: sub.statement,
          signature: sub.signature,
          ...(sub.proof ? { proof: sub.proof } : {}),
          submitted_from: sub.from,
        });
        return { kind: 'refused', code: judgement.code, message: judgement.message, record: await current() };
      }
      case 'decide':
        await tx.decide(judgement.decided);
        return { kind: 'decided', record: await current() };
      case 'count':
        await tx.record(judgement.reviewed);
        return { kind: 'counted', record: await current(), approvals: judgement.approvals, needed: judgement.needed };
    }
  });
}

/** Pending commands, highest risk first, then newest; `all` includes those past their deadline. */
export async function pendingQueue(
  store: AuditStore,
  now: Date,
  options: { all?: boolean; limit?: number } = {},
): Promise<CommandRecord[]> {
  const pending = await store.commands({ decision: 'pending', ...(options.limit ? { limit: options.limit } : {}) });
  return pending
    .filter((r) => options.all || r.deadline === null || Date.parse(r.deadline) > now.getTime())
    .sort(
      (a, b) =>
        b.risk_score - a.risk_score || (a.submitted_at < b.submitted_at ? 1 : a.submitted_at > b.submitted_at ? -1 : 0),
    );
}

/** Approvals a pending command has so far. */
export async function approvalsSoFar(store: AuditStore, commandId: string): Promise<string[]> {
  return (await store.commandEvents(commandId))
    .filter((e) => e.type === 'REVIEWED')
    .map((e) => (e.body as ReviewedBody).reviewer);
}

/** What a reviewer needs to see about one pending command. */
export interface ReviewView {
  readonly record: CommandRecord;
  /** The session's earlier commands (newest last). */
  readonly session: readonly CommandRecord[];
  readonly approvals: readonly string[];
  readonly approvals_needed: number;
  /** Milliseconds before it times out (negative: past its deadline); null when not waiting. */
  readonly time_left_ms: number | null;
}

/** What a reviewer sees of a command: it, its session so far, the approvals it has and needs. */
export async function reviewView(
  store: AuditStore,
  policy: Policy,
  record: CommandRecord,
  now: Date,
): Promise<ReviewView> {
  const session = record.session_id
    ? (await store.commands({ session: record.session_id, limit: 21 }))
        .filter((r) => r.command_id !== record.command_id && r.submitted_at <= record.submitted_at)
        .slice(-20)
    : [];
  return {
    record,
    session,
    approvals: await approvalsSoFar(store, record.command_id),
    approvals_needed: approvalsNeeded(policy, record.risk_level),
    time_left_ms: record.decision === 'pending' && record.deadline ? Date.parse(record.deadline) - now.getTime() : null,
  };
}

/** The statement a reviewer signs to decide a command (it names the command's submission). */
export async function reviewStatement(
  store: AuditStore,
  fields: Omit<DecisionStatement, 'v' | 'submitted_leaf'>,
): Promise<string> {
  const { leaf } = await submittedEvent(store, fields.command_id);
  return decisionStatement({ ...fields, submitted_leaf: leaf });
}

/**
 * Build, sign (with the reviewer's SSH key, through ssh-keygen) and apply one decision. Without
 * a key the decision goes in unsigned, to be refused and recorded as such: an attempt to decide
 * without a signature is itself evidence.
 */
export async function signAndApply(
  store: AuditStore,
  policy: Policy,
  commandId: string,
  decision: 'approve' | 'deny',
  who: { reviewer: string; key: string | undefined },
  reason: string | null,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ReviewOutcome> {
  const clock = systemClock();
  const text = await reviewStatement(store, {
    command_id: commandId,
    decision,
    reviewer: who.reviewer,
    reason,
    signed_at: clock.wall().toISOString(),
  });
  const signature = who.key ? signWithSshKeygen(Buffer.from(text, 'utf8'), who.key, env) : null;
  const me = osIdentity();
  return applyDecision(
    { command_id: commandId, statement: text, signature, from: { user: me.user, host: me.host } },
    { policy, store, clock },
  );
}
