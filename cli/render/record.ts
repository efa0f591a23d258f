/**
 * The human views of a command: which rule fired, why, on which bytes, the score and the next
 * step; what a reviewer sees; its line in a list; its session's timeline. Every piece of
 * command text is shown escaped, so hidden characters are visible. Pure: data and a Style in,
 * text out.
 */
import type {
  Assessment,
  CommandRecord,
  EventBody,
  ReviewOutcome,
  ReviewView,
  Signal,
  StoredEvent,
} from '../../engine/index.js';
import { escapeForDisplay } from '../../engine/index.js';
import { proofKind, proofLabel } from '../../engine/model/events.js';
import { nextStep, type CommandState } from '../../engine/model/verdict.js';
import { paintState, type Style } from './style.js';
import { clip, clock, clockMs, dateTime, oneLine, timeLeft } from './text.js';

/** UTF-8 byte offsets → UTF-16 offsets in `text`. */
function charIndex(text: string, byte: number): number {
  return Buffer.from(text, 'utf8').subarray(0, byte).toString('utf8').length;
}

/** The command line(s) a span falls on, with a caret line under the span. */
export function underline(command: string, span: readonly [number, number]): string[] {
  const start = charIndex(command, span[0]);
  const end = Math.max(start + 1, charIndex(command, span[1]));
  const lineStart = command.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = command.indexOf('\n', start);
  if (lineEnd === -1) lineEnd = command.length;
  const before = escapeForDisplay(command.slice(lineStart, start));
  const inside = escapeForDisplay(command.slice(start, Math.min(end, lineEnd)));
  const after = escapeForDisplay(command.slice(Math.min(end, lineEnd), lineEnd));
  const shownBefore = before.length > 40 ? `…${before.slice(-39)}` : before;
  const shownInside = clip(inside, 80);
  return [
    `${shownBefore}${shownInside}${clip(after, 40)}`,
    `${' '.repeat(shownBefore.length)}${'^'.repeat(Math.max(1, shownInside.length))}`,
  ];
}

function headline(s: Style, state: CommandState, a: { risk_score: number; risk_level: string }, prefix = ''): string {
  const label = `${prefix}${state.toUpperCase().replace('_', ' ')}`;
  return `${s.bold(paintState(s, state, label))}  risk ${a.risk_score}/100 ${a.risk_level}`;
}

function commandLines(command: string): string[] {
  const lines = escapeForDisplay(command).split('\n');
  const shown = lines.slice(0, 6).map((l, i) => `  ${i === 0 ? '$' : '>'} ${l}`);
  if (lines.length > 6) shown.push(`  … ${lines.length - 6} more line(s)`);
  return shown;
}

function signalLines(s: Style, command: string, signals: readonly Signal[], limit = 8): string[] {
  const out: string[] = [];
  for (const sig of signals.slice(0, limit)) {
    const mark = sig.score >= 60 ? s.red('✗') : sig.score >= 30 ? s.yellow('!') : s.dim('·');
    const never = sig.waivable ? '' : s.dim(' (never whitelisted)');
    out.push(`  ${mark} ${s.bold(sig.rule_id)}  ${sig.score}  ${sig.message}${never}`);
    if (sig.category !== 'context') for (const l of underline(command, sig.span)) out.push(`      ${s.dim(l)}`);
  }
  if (signals.length > limit) out.push(s.dim(`  … ${signals.length - limit} more signal(s)`));
  return out;
}

function segmentLines(
  s: Style,
  a: Pick<Assessment, 'segments' | 'whitelist_refused'> | Pick<CommandRecord, 'segments' | 'whitelist_refused'>,
): string[] {
  if (a.segments.length === 0) return [];
  const out = [s.dim('  segments:')];
  a.segments.slice(0, 12).forEach((seg, i) => {
    const shown = clip(escapeForDisplay(seg.argv.join(' ')), 70);
    const where = seg.via === 'top' ? '' : s.dim(` [${seg.via}]`);
    // a rule that matched but may not be used says so: "not whitelisted" alone hides why
    const refused = a.whitelist_refused.find((r) => r.segment === i);
    const cover = seg.covered_by
      ? s.green(` ✓ ${seg.covered_by}`)
      : refused
        ? s.yellow(` ✗ ${refused.rule_id} matches but may not be used: ${refused.reason}`)
        : s.dim(' ✗ not whitelisted');
    out.push(`    ${i}. ${shown}${where}${cover}`);
  });
  if (a.segments.length > 12) out.push(s.dim(`    … ${a.segments.length - 12} more`));
  return out;
}

/**
 * When gate.yaml sets working hours: the local time the command was judged at, in the zone it was
 * judged in, and whether that was off-hours (so a reviewer sees why, or why not).
 */
function localTimeLine(s: Style, r: Pick<CommandRecord, 'local_time' | 'time_zone' | 'signals'>): string[] {
  if (!r.local_time || !r.time_zone) return []; // no working hours, or a record from before they were kept
  const off = r.signals.some((sig) => sig.rule_id === 'context.off-hours');
  // a named zone shows its offset at that time; UTC or an offset already says it
  const plain = /^(?:Etc\/)?(?:UTC|GMT)$|^(?:UTC|GMT)?[+-]/i.test(r.time_zone);
  const zone = plain ? r.time_zone : `${r.time_zone} (UTC${r.local_time.slice(19)})`;
  const at = `${r.local_time.slice(0, 10)} ${r.local_time.slice(11, 16)} ${zone}`;
  return [s.dim(`  local time ${at} · ${off ? 'off-hours' : 'working hours'}`)];
}

/** A checked command: its decision, hits, segments, who decided and what to do next. */
export function renderRecord(s: Style, record: CommandRecord, assessment: Assessment, whyNot: string | null): string {
  const lines = [headline(s, record.decision, record), ...commandLines(record.command)];
  lines.push(...signalLines(s, record.command, record.signals));
  if (assessment.issues.length > 0)
    for (const i of assessment.issues) lines.push(`  ${s.yellow('?')} ${i.code}: ${i.message}`);
  if (record.decision !== 'whitelisted') lines.push(...segmentLines(s, assessment));
  lines.push(...localTimeLine(s, record));
  const by = record.decided_by ? `decided by ${record.decided_by}` : 'not decided';
  const latency = record.review_latency_ms !== null ? ` in ${record.review_latency_ms} ms` : '';
  lines.push(s.dim(`  ${by}${latency} · ${record.command_id} · policy ${record.policy_revision.slice(0, 19)}`));
  if (record.reason) lines.push(s.dim(`  ${record.reason}`));
  if (whyNot && record.decision !== 'whitelisted' && record.decision !== 'denied')
    lines.push(s.dim(`  not whitelisted: ${whyNot}`));
  lines.push(`  next: ${nextStep(record.decision)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A recorded command as it stands (`status`, `wait`): its state, hits and segments, who decided,
 * the time left while it waits, where to review it, and what to do next.
 */
export function renderStoredRecord(s: Style, record: CommandRecord, now: Date): string {
  const lines = [headline(s, record.decision, record), ...commandLines(record.command)];
  lines.push(...signalLines(s, record.command, record.signals));
  if (record.decision !== 'whitelisted') lines.push(...segmentLines(s, record));
  lines.push(...localTimeLine(s, record));
  if (record.decision === 'pending') {
    const left = record.deadline ? Date.parse(record.deadline) - now.getTime() : null;
    lines.push(s.dim(`  waiting for a reviewer · ${timeLeft(left)} left · ${record.command_id}`));
    lines.push(s.dim(`  review it: policy-gate review show ${record.command_id}`));
  } else {
    const latency = record.review_latency_ms !== null ? ` in ${record.review_latency_ms} ms` : '';
    lines.push(s.dim(`  decided by ${record.decided_by}${latency} · ${record.command_id}`));
    if (record.reason) lines.push(s.dim(`  ${record.reason}`));
  }
  lines.push(`  next: ${nextStep(record.decision)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * What a person waiting for a reviewer is told as soon as the command is held: its id and risk,
 * the strongest signals, the first command not whitelisted and why, and where to review it.
 */
export function renderHeld(s: Style, record: CommandRecord): string {
  const lines = [
    `${s.bold(paintState(s, 'pending', 'HELD'))} for review  risk ${record.risk_score}/100 ${record.risk_level}` +
      `  ${record.command_id}`,
    `  $ ${oneLine(record.command, 100)}`,
  ];
  const strongest = [...record.signals].sort((a, b) => b.score - a.score);
  for (const sig of strongest.slice(0, 3)) {
    const mark = sig.score >= 60 ? s.red('✗') : sig.score >= 30 ? s.yellow('!') : s.dim('·');
    lines.push(`  ${mark} ${sig.message} ${s.dim(`(${sig.rule_id}, ${sig.score})`)}`);
  }
  if (strongest.length > 3) lines.push(s.dim(`  … ${strongest.length - 3} more signal(s)`));
  const why = notWhitelisted(record);
  if (why) lines.push(`  not whitelisted: ${why}`);
  lines.push(`  review it: ${s.bold(`policy-gate review show ${record.command_id}`)}`);
  return `${lines.join('\n')}\n`;
}

/** Why a recorded command was not whitelisted, as far as the record tells (its first uncovered command). */
function notWhitelisted(
  r: Pick<CommandRecord, 'issues' | 'segments' | 'whitelist_refused' | 'signals'>,
): string | null {
  if (r.issues.length > 0) return `the command could not be fully understood (${r.issues[0]!.code})`;
  const uncovered = r.segments.findIndex((seg) => seg.covered_by === null);
  if (uncovered !== -1) {
    const shown = `\`${clip(escapeForDisplay(r.segments[uncovered]!.argv.join(' ')), 70)}\``;
    const refusal = r.whitelist_refused.find((x) => x.segment === uncovered);
    return refusal
      ? `whitelist rule ${refusal.rule_id} matches ${shown} but may not be used: ${refusal.reason}`
      : `no whitelist rule covers ${shown}`;
  }
  const hard = r.signals.find((sig) => !sig.waivable);
  return hard ? `rule ${hard.rule_id} can never be whitelisted` : null;
}

/** The countdown line under a held command: how long the wait still lasts. */
export function countdownLine(s: Style, leftMs: number): string {
  return leftMs > 0
    ? `  waiting for a reviewer: ${s.yellow(timeLeft(leftMs))} left ${s.dim('(Ctrl-C stops waiting)')}`
    : `  waiting for a reviewer: ${s.yellow('time is up')}`;
}

/** What check would decide, and why, without a record. */
export function renderAssessment(s: Style, a: Assessment, whyNot: string | null): string {
  const lines = [headline(s, a.would_decide, a, 'WOULD BE '), ...commandLines(a.command)];
  lines.push(...signalLines(s, a.command, a.signals));
  for (const i of a.issues) lines.push(`  ${s.yellow('?')} ${i.code}: ${i.message}`);
  lines.push(...segmentLines(s, a));
  lines.push(...localTimeLine(s, a));
  if (a.decided_by) lines.push(s.dim(`  by ${a.decided_by}`));
  if (whyNot && a.would_decide === 'pending') lines.push(s.dim(`  not whitelisted: ${whyNot}`));
  return `${lines.join('\n')}\n`;
}

export type { ReviewView };

/** Everything a reviewer needs to decide one command. */
export function renderReview(s: Style, v: ReviewView): string {
  const r = v.record;
  const waiting = v.time_left_ms !== null && v.time_left_ms > 0 ? ' left' : '';
  const votes = `approvals ${v.approvals.length}/${v.approvals_needed}`;
  const status = [
    r.decision === 'pending' ? `${timeLeft(v.time_left_ms)}${waiting}` : null,
    v.approvals_needed > 1 ? `${votes}${v.approvals.length ? ` (${v.approvals.join(', ')})` : ''}` : null,
  ].filter((x): x is string => x !== null);
  const lines = [
    `${headline(s, r.decision, r)}${status.length ? `  · ${status.join(' · ')}` : ''}`,
    ...commandLines(r.command),
  ];
  lines.push(...signalLines(s, r.command, r.signals, 12));
  for (const i of r.issues) lines.push(`  ${s.yellow('?')} ${i.code}: ${i.message}`);
  lines.push(...segmentLines(s, r));
  lines.push(
    `  ${s.dim('session')} ${r.session_id ?? '-'}  ${s.dim('agent')} ${r.agent ?? '-'}  ` +
      `${s.dim('cwd')} ${escapeForDisplay(r.cwd ?? '-')}`,
  );
  if (r.intent) lines.push(`  ${s.dim('intent')} ${escapeForDisplay(r.intent)}`);
  lines.push(...localTimeLine(s, r));
  if (v.session.length > 0) {
    lines.push(s.dim(`  earlier in this session (${v.session.length}):`));
    for (const h of v.session.slice(-8)) {
      const by = h.decided_by && h.decision !== 'whitelisted' ? ` (${h.decided_by})` : '';
      lines.push(`    ${s.dim(clock(h.submitted_at))} ${`${h.decision}${by}`.padEnd(22)} ${oneLine(h.command, 70)}`);
    }
  }
  if (r.decided_by) {
    const latency = r.review_latency_ms !== null ? ` in ${r.review_latency_ms} ms` : '';
    lines.push(s.dim(`  decided by ${r.decided_by}${latency}${r.reason ? `: ${r.reason}` : ''}`));
  }
  lines.push(s.dim(`  ${r.command_id} · submitted ${r.submitted_at} · policy ${r.policy_revision.slice(0, 19)}`));
  return `${lines.join('\n')}\n`;
}

/** One line of the review queue: risk, time left, approvals, who, the command, in `width` columns. */
export function queueLine(s: Style, v: ReviewView, width: number): string {
  const r = v.record;
  const level =
    r.risk_level === 'critical' || r.risk_level === 'high'
      ? s.red(r.risk_level.padEnd(8))
      : s.yellow(r.risk_level.padEnd(8));
  const left = timeLeft(v.time_left_ms).padStart(7);
  const votes = v.approvals_needed > 1 ? ` ${v.approvals.length}/${v.approvals_needed}` : '';
  const agent = (r.agent ?? '-').slice(0, 14).padEnd(14);
  const head = `${r.command_id}  ${String(r.risk_score).padStart(3)} ${level} ${left}${votes}  ${agent} `;
  const room = Math.max(20, width - (head.length - (level.length - 8)));
  return `${head}${oneLine(r.command, room)}`;
}

/** What became of a reviewer's decision, in one line. */
export function describeOutcome(o: ReviewOutcome): string {
  const r = o.record;
  switch (o.kind) {
    case 'decided':
      return (
        `${r.decision} ${r.command_id} by ${r.decided_by}, ` +
        `${((r.review_latency_ms ?? 0) / 1000).toFixed(1)} s after submission`
      );
    case 'counted':
      return (
        `approval ${o.approvals} of ${o.needed} recorded for ${r.command_id}: ` +
        `${o.needed - o.approvals} more reviewer(s) must approve`
      );
    case 'refused':
      return `refused: ${o.message}`;
  }
}

/** A recorded command in the audit list: when, the decision, the risk, the command; then its ids. */
export function auditEntry(s: Style, r: CommandRecord): string {
  const latency = r.review_latency_ms === null ? '' : ` ${r.review_latency_ms}ms`;
  const who = `session ${r.session_id ?? '-'}  agent ${r.agent ?? '-'}  by ${r.decided_by ?? '-'}${latency}`;
  return (
    `${s.dim(dateTime(r.submitted_at))}  ${paintState(s, r.decision, r.decision.padEnd(11))} ` +
    `${String(r.risk_score).padStart(3)} ${r.risk_level.padEnd(8)} ${oneLine(r.command, 80)}\n` +
    s.dim(`    ${r.command_id}  ${who}\n`)
  );
}

/** One command of a session with the events that followed its submission. */
export interface TimelineEntry {
  readonly record: CommandRecord;
  readonly events: readonly (Pick<StoredEvent, 'type' | 'at'> & { body: EventBody })[];
}

/** A session's timeline, oldest first (non-empty). */
export function renderSession(s: Style, id: string, timeline: readonly TimelineEntry[]): string {
  const records = timeline.map((t) => t.record);
  const agents = [...new Set(records.map((r) => r.agent ?? '-'))].join(', ');
  const span = `${records[0]!.submitted_at} → ${records[records.length - 1]!.submitted_at}`;
  const head = `${s.bold(`session ${id}`)}  ${records.length} command(s) · agent ${agents} · ${span}\n`;
  return head + timeline.map((t) => timelineEntry(s, t)).join('');
}

function timelineEntry(s: Style, { record: r, events }: TimelineEntry): string {
  const lines = [`\n${s.dim(clockMs(r.submitted_at))} ${s.bold('$')} ${oneLine(r.command, 100)}`];
  const rules = r.signals.length
    ? ` · ${r.signals
        .slice(0, 3)
        .map((x) => x.rule_id)
        .join(', ')}`
    : '';
  lines.push(
    `             risk ${r.risk_score} ${r.risk_level}${rules}${r.intent ? ` · intent: ${escapeForDisplay(r.intent)}` : ''}`,
  );
  for (const e of events) {
    const at = s.dim(clockMs(e.at));
    const b = e.body;
    switch (b.type) {
      case 'REVIEWED':
        lines.push(
          `${at} approval ${b.approvals}/${b.approvals_needed} by ${b.reviewer} ` +
            `(${proofKind(b.signed) === 'ssh' ? 'signed, key ' : ''}${proofLabel(b.signed)})`,
        );
        break;
      case 'REVIEW_REFUSED':
        lines.push(
          `${at} ${s.red('refused')} ${b.decision ?? 'decision'} claimed by ${b.claimed_reviewer ?? '?'} ` +
            `from ${b.submitted_from.user}@${b.submitted_from.host}: ${b.refusal}: ${b.message}`,
        );
        break;
      case 'ESCALATED':
        lines.push(
          `${at} escalated after ${b.after_seconds} s to ${b.notifier.join(' ')}${b.error ? ` (failed: ${b.error})` : ''}`,
        );
        break;
      case 'DECIDED': {
        const signed = b.signatures?.length
          ? ` · signed by ${b.signatures.map((x) => `${x.reviewer} ${proofLabel(x)}`).join(', ')}`
          : '';
        lines.push(
          `${at} ${paintState(s, r.decision, b.decision)} by ${b.decided_by} in ${b.review_latency_ms} ms` +
            `${b.reason ? `: ${b.reason}` : ''}${signed}`,
        );
        break;
      }
      case 'EXEC_START': {
        const removed = b.env_removed.length ? ` (removed ${b.env_removed.join(' ')})` : '';
        lines.push(`${at} started  bash --noprofile --norc -c … in ${escapeForDisplay(b.cwd)}${removed}`);
        break;
      }
      case 'EXEC_END':
        lines.push(
          `${at} ended    exit ${b.exit_code}${b.signal ? ` (${b.signal})` : ''} after ${b.duration_ms} ms` +
            (b.recording
              ? ` · recording ${b.recording.path} sha256 ${b.recording.sha256.slice(0, 16)}…`
              : b.recording_error
                ? ` · no recording: ${b.recording_error}`
                : ''),
        );
        break;
      default:
        break;
    }
  }
  if (r.decision === 'pending')
    lines.push(`${' '.repeat(13)}${s.yellow('pending')}${r.deadline ? ` until ${r.deadline}` : ''}`);
  return `${lines.join('\n')}\n`;
}
