/**
 * The evidence report's figures, computed from the trail (pure: the CLI renders them as
 * Markdown or HTML). What an auditor asks first: was everything that ran reviewed or
 * whitelisted before it ran, what was stopped and why, how fast humans decided, which reviewed
 * rules let commands through, and does the trail verify.
 */
import type { ProvenanceEntry } from '../model/provenance.js';
import type { CommandRecord, Decision } from '../model/events.js';
import type { VerifyResult } from './verify.js';
import { allowsRun } from '../model/verdict.js';

export interface ReportInput {
  readonly records: readonly CommandRecord[];
  readonly verify: VerifyResult | null;
  /** Inclusive start and exclusive end (ISO); null: the whole trail. */
  readonly from: string | null;
  readonly to: string | null;
  readonly generatedAt: string;
  readonly source: string;
}

export interface LatencyStats {
  readonly reviewer: string;
  readonly decisions: number;
  readonly approved: number;
  readonly denied: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly max_ms: number;
}

export interface ReportData {
  readonly source: string;
  readonly generated_at: string;
  readonly period: {
    readonly from: string | null;
    readonly to: string | null;
    readonly first: string | null;
    readonly last: string | null;
  };
  readonly commands: number;
  readonly by_decision: Readonly<Record<Decision | 'pending', number>>;
  readonly denied_by_policy: number;
  readonly denied_by_reviewer: number;
  readonly executed: number;
  /** Executed commands that were approved or whitelisted, decided before they started. */
  readonly executed_after_decision: number;
  readonly execution_exceptions: readonly { command_id: string; command: string; decision: string; why: string }[];
  readonly blocked: {
    readonly total: number;
    readonly top_rules: readonly { rule: string; count: number }[];
    readonly examples: readonly {
      command_id: string;
      submitted_at: string;
      command: string;
      decision: string;
      decided_by: string;
      rule: string | null;
    }[];
  };
  readonly anomalies: readonly {
    signal: string;
    commands: number;
    reviewed_by_human: number;
    whitelisted: number;
    denied_or_timed_out: number;
    pending: number;
  }[];
  readonly latency: readonly LatencyStats[];
  readonly timeouts: {
    readonly total: number;
    readonly examples: readonly { command_id: string; submitted_at: string; command: string }[];
  };
  readonly whitelist_rules: readonly {
    rule: string;
    uses: number;
    commit: string | null;
    author: string | null;
    reviewed_by: readonly string[];
    last_used: string;
  }[];
  readonly daily: readonly {
    day: string;
    whitelisted: number;
    approved: number;
    denied: number;
    timed_out: number;
    pending: number;
  }[];
  readonly policy_revisions: readonly string[];
  readonly verify: VerifyResult | null;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const isReviewer = (by: string | null): by is string => by !== null && by !== 'timeout' && !by.includes(':');

export function buildReport(input: ReportInput): ReportData {
  const records = input.records.filter(
    (r) => (input.from === null || r.submitted_at >= input.from) && (input.to === null || r.submitted_at < input.to),
  );
  const byDecision: Record<Decision | 'pending', number> = {
    whitelisted: 0,
    approved: 0,
    denied: 0,
    timed_out: 0,
    pending: 0,
  };
  for (const r of records) byDecision[r.decision]++;

  const executed = records.filter((r) => r.execution !== null);
  const exceptions: ReportData['execution_exceptions'][number][] = [];
  for (const r of executed) {
    if (!allowsRun(r.decision))
      exceptions.push({
        command_id: r.command_id,
        command: r.command,
        decision: r.decision,
        why: `ran although ${r.decision}`,
      });
    else if (r.decided_at === null || r.execution!.started_at < r.decided_at)
      exceptions.push({
        command_id: r.command_id,
        command: r.command,
        decision: r.decision,
        why: 'started before it was decided',
      });
  }

  const blocked = records.filter((r) => r.decision === 'denied' || r.decision === 'timed_out');
  const ruleCounts = new Map<string, number>();
  // context signals (off-hours, bursts, novelty) raise a score; they are not what a command is
  const topRule = (r: CommandRecord): string | null => r.signals.find((s) => s.category !== 'context')?.rule_id ?? null;
  for (const r of blocked) {
    const rule = topRule(r) ?? '(no rule: decided by a reviewer or the timeout)';
    ruleCounts.set(rule, (ruleCounts.get(rule) ?? 0) + 1);
  }

  const anomalies = ['context.off-hours', 'context.burst', 'context.novelty'].map((signal) => {
    const hit = records.filter((r) => r.signals.some((s) => s.rule_id === signal));
    return {
      signal,
      commands: hit.length,
      reviewed_by_human: hit.filter((r) => isReviewer(r.decided_by)).length,
      whitelisted: hit.filter((r) => r.decision === 'whitelisted').length,
      denied_or_timed_out: hit.filter(
        (r) => !isReviewer(r.decided_by) && (r.decision === 'denied' || r.decision === 'timed_out'),
      ).length,
      pending: hit.filter((r) => r.decision === 'pending').length,
    };
  });

  const perReviewer = new Map<string, { latencies: number[]; approved: number; denied: number }>();
  for (const r of records) {
    if (!isReviewer(r.decided_by) || r.review_latency_ms === null) continue;
    for (const reviewer of r.decided_by.split('+')) {
      const entry = perReviewer.get(reviewer) ?? { latencies: [], approved: 0, denied: 0 };
      entry.latencies.push(r.review_latency_ms);
      if (r.decision === 'approved') entry.approved++;
      else entry.denied++;
      perReviewer.set(reviewer, entry);
    }
  }
  const latency = [...perReviewer.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([reviewer, e]) => {
      const sorted = [...e.latencies].sort((a, b) => a - b);
      return {
        reviewer,
        decisions: sorted.length,
        approved: e.approved,
        denied: e.denied,
        p50_ms: percentile(sorted, 50),
        p95_ms: percentile(sorted, 95),
        max_ms: sorted[sorted.length - 1]!,
      };
    });

  const rules = new Map<string, { uses: number; provenance: ProvenanceEntry | null; last: string }>();
  for (const r of records) {
    if (r.decision !== 'whitelisted' || !r.decided_by) continue;
    for (const rule of r.decided_by.slice('whitelist_rule:'.length).split('+')) {
      const entry = rules.get(rule) ?? { uses: 0, provenance: null, last: r.submitted_at };
      entry.uses++;
      entry.provenance ??= r.whitelist_provenance.find((p) => p.rule_id === rule) ?? null;
      if (r.submitted_at > entry.last) entry.last = r.submitted_at;
      rules.set(rule, entry);
    }
  }

  const days = new Map<string, ReportData['daily'][number] & Record<string, number | string>>();
  for (const r of records) {
    const day = r.submitted_at.slice(0, 10);
    const d = days.get(day) ?? { day, whitelisted: 0, approved: 0, denied: 0, timed_out: 0, pending: 0 };
    (d as Record<string, number | string>)[r.decision] = ((d as Record<string, number>)[r.decision] ?? 0) + 1;
    days.set(day, d);
  }

  const timeouts = records.filter((r) => r.decision === 'timed_out');
  return {
    source: input.source,
    generated_at: input.generatedAt,
    period: {
      from: input.from,
      to: input.to,
      first: records[0]?.submitted_at ?? null,
      last: records[records.length - 1]?.submitted_at ?? null,
    },
    commands: records.length,
    by_decision: byDecision,
    denied_by_policy: records.filter((r) => r.decision === 'denied' && r.decided_by?.startsWith('policy_rule:')).length,
    denied_by_reviewer: records.filter((r) => r.decision === 'denied' && isReviewer(r.decided_by)).length,
    executed: executed.length,
    executed_after_decision: executed.length - exceptions.length,
    execution_exceptions: exceptions,
    blocked: {
      total: blocked.length,
      top_rules: [...ruleCounts.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 10)
        .map(([rule, count]) => ({ rule, count })),
      examples: blocked.slice(-20).map((r) => ({
        command_id: r.command_id,
        submitted_at: r.submitted_at,
        command: r.command,
        decision: r.decision,
        decided_by: r.decided_by ?? '',
        rule: topRule(r),
      })),
    },
    anomalies,
    latency,
    timeouts: {
      total: timeouts.length,
      examples: timeouts
        .slice(-10)
        .map((r) => ({ command_id: r.command_id, submitted_at: r.submitted_at, command: r.command })),
    },
    whitelist_rules: [...rules.entries()]
      .sort((a, b) => b[1].uses - a[1].uses || (a[0] < b[0] ? -1 : 1))
      .map(([rule, e]) => ({
        rule,
        uses: e.uses,
        commit: e.provenance?.commit ?? null,
        author: e.provenance?.author ?? null,
        reviewed_by: e.provenance?.reviewed_by ?? [],
        last_used: e.last,
      })),
    daily: [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)),
    policy_revisions: [...new Set(records.map((r) => r.policy_revision))],
    verify: input.verify,
  };
}

/** A compliance control the trail is evidence for, and what stays the operator's job. */
export interface Control {
  readonly framework: string;
  readonly control: string;
  readonly proves: string;
  readonly not: string;
}

/** What the trail is evidence for, control by control, and what stays the operator's job. */
export const CONTROLS: readonly Control[] = [
  {
    framework: 'SOC 2',
    control: 'CC6.3 — authorize, modify or remove access based on roles and least privilege',
    proves:
      'Every command an agent ran was authorized before it ran: by a whitelist rule admitted through a ' +
      'reviewed Git change (commit, author, reviewers recorded), or by a reviewer listed with a role ' +
      'in reviewers.yaml whose signed decision verifies. Self-approval is refused; a two-person rule ' +
      'can be required.',
    not:
      'That reviewer keys are held only by the people named, or that reviewers.yaml membership is ' +
      'reviewed periodically (access reviews are the operator’s).',
  },
  {
    framework: 'SOC 2',
    control: 'CC7.2 — monitor components for anomalies indicative of malicious acts',
    proves:
      'Every attempt is recorded before any decision, including denied and timed-out ones, with the ' +
      'rules that fired and off-hours, burst and novelty flags, and whether a human reviewed it; ' +
      'escalations are recorded.',
    not: 'That anyone looked at the flags, or the incident response that followed.',
  },
  {
    framework: 'ISO/IEC 27001:2022',
    control:
      '8.15 Logging (2013: A.12.4.1 event logging, A.12.4.2 protection of log information, A.12.4.3 administrator and operator logs)',
    proves:
      'Agents’ commands (operator actions) are logged with who, what, when, where and the outcome; the ' +
      'log is append-only, hash-chained and covered by signed checkpoints, and `policy-gate verify` ' +
      'detects changes, deletions, reordering and truncation against a checkpoint kept elsewhere.',
    not: 'Retention periods, backups, and who may read the logs.',
  },
  {
    framework: 'ISO/IEC 27001:2022',
    control: '8.16 Monitoring activities',
    proves:
      'Anomalous activity is flagged per command and blocked attempts are listed with their rules; ' +
      'review latency and timeouts show how the human control performs.',
    not: 'Continuous monitoring by staff or a SIEM; alert thresholds beyond the policy’s.',
  },
  {
    framework: 'HIPAA',
    control: '§164.312(b) Audit controls',
    proves:
      'A mechanism records and examines activity of agents on the systems the gate fronts: every ' +
      'command, its decision and its run, verifiable after the fact.',
    not: 'Which systems hold ePHI (scope), and commands that did not go through the gate.',
  },
  {
    framework: 'PCI DSS v4.0',
    control:
      '10.2.1 audit logs enabled and active; 10.2.2 user, event type, date and time, success or failure, origin, affected resource',
    proves:
      'Each record has the agent, session and OS account, the event type, UTC timestamps, the decision ' +
      'and exit code, the host and working directory, and the command itself.',
    not: 'Components whose commands bypass the gate.',
  },
  {
    framework: 'PCI DSS v4.0',
    control:
      '10.3.2 logs protected from modification; 10.3.3 promptly backed up to a place hard to alter; 10.3.4 change detection on logs',
    proves:
      'Append-only store (triggers), a hash chain over the stored bytes, Ed25519-signed checkpoints ' +
      'after every decision, `checkpoint export` and `audit export --bundle` to copy evidence off the ' +
      'machine, and `verify` as the change-detection mechanism.',
    not:
      'That exports actually run and land on storage the agent cannot write (schedule them), or clock ' +
      'synchronisation of the hosts (10.6).',
  },
  {
    framework: 'PCI DSS v4.0',
    control: '10.5.1 retain audit log history for at least 12 months, 3 months immediately available',
    proves:
      'Nothing is ever deleted by the gate; bundles are self-contained and verifiable years later without the store.',
    not: 'Retention itself: keeping the store and bundles for the period is the operator’s job.',
  },
];

// -------------------------------------------------------------------------------------------------
// the tables, once for both formats
