/** What the review commands and the interactive queue share: who signs, and how outcomes read. */
import { escapeForDisplay, usageError, type ReviewOutcome, type ReviewView } from '../engine/index.js';
import { str, type Parsed } from './args.js';
import type { CliIo } from './io.js';
import { timeLeft, type Style } from './render.js';

/** One line of the queue: risk, time left, approvals, who, the command. */
export function queueLine(s: Style, v: ReviewView, width: number): string {
  const r = v.record;
  const level =
    r.risk_level === 'critical' || r.risk_level === 'high'
      ? s.red(r.risk_level.padEnd(8))
      : s.yellow(r.risk_level.padEnd(8));
  const left = timeLeft(v.time_left_ms).padStart(7);
  const votes = v.approvals_needed > 1 ? ` ${v.approvals.length}/${v.approvals_needed}` : '';
  const head = `${r.command_id}  ${String(r.risk_score).padStart(3)} ${level} ${left}${votes}  ${(r.agent ?? '-').slice(0, 14).padEnd(14)} `;
  const cmd = escapeForDisplay(r.command).replace(/\n/g, '⏎');
  const room = Math.max(20, width - (head.length - (level.length - 8)));
  return `${head}${cmd.length > room ? `${cmd.slice(0, room - 1)}…` : cmd}`;
}

/** The reviewer and key from flags or the environment. */
export function signer(p: Parsed, io: CliIo): { reviewer: string; key: string | undefined } {
  const reviewer = str(p, 'reviewer') ?? io.env.POLICY_GATE_REVIEWER;
  if (!reviewer)
    throw usageError(
      'who decides? pass --reviewer ID (your id in reviewers.yaml) or set POLICY_GATE_REVIEWER',
      'see: policy-gate review --help',
    );
  return { reviewer, key: str(p, 'key') ?? io.env.POLICY_GATE_KEY };
}

export function describeOutcome(o: ReviewOutcome): string {
  const r = o.record;
  switch (o.kind) {
    case 'decided':
      return `${r.decision} ${r.command_id} by ${r.decided_by}, ${((r.review_latency_ms ?? 0) / 1000).toFixed(1)} s after submission`;
    case 'counted':
      return `approval ${o.approvals} of ${o.needed} recorded for ${r.command_id}: ${o.needed - o.approvals} more reviewer(s) must approve`;
    case 'refused':
      return `refused: ${o.message}`;
  }
}
