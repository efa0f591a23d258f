/**
 * The human view of results: which rule fired, why, on which bytes, the score and the next
 * step. Every piece of command text is shown escaped, so hidden characters are visible.
 */
import type { Assessment, CommandRecord, ReviewView, Signal } from '../engine/index.js';
import { escapeForDisplay } from '../engine/index.js';
import type { Output } from './io.js';
import { allowsRun, nextStep, type CommandState } from '../engine/model/verdict.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export function style(out: Output, env: Readonly<Record<string, string | undefined>>): Style {
  const on = Boolean(out.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), yellow: wrap('33') };
}

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
  const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const shownBefore = before.length > 40 ? `…${before.slice(-39)}` : before;
  const shownInside = clip(inside, 80);
  return [
    `${shownBefore}${shownInside}${clip(after, 40)}`,
    `${' '.repeat(shownBefore.length)}${'^'.repeat(Math.max(1, shownInside.length))}`,
  ];
}

function headline(s: Style, state: CommandState, a: { risk_score: number; risk_level: string }, prefix = ''): string {
  const label = `${prefix}${state.toUpperCase().replace('_', ' ')}`;
  const colored = allowsRun(state) ? s.green(label) : state === 'pending' ? s.yellow(label) : s.red(label);
  return `${s.bold(colored)}  risk ${a.risk_score}/100 ${a.risk_level}`;
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
    out.push(
      `  ${mark} ${s.bold(sig.rule_id)}  ${sig.score}  ${sig.message}${sig.waivable ? '' : s.dim(' (never whitelisted)')}`,
    );
    if (sig.category !== 'context') for (const l of underline(command, sig.span)) out.push(`      ${s.dim(l)}`);
  }
  if (signals.length > limit) out.push(s.dim(`  … ${signals.length - limit} more signal(s)`));
  return out;
}

function segmentLines(s: Style, a: Pick<Assessment, 'segments'> | Pick<CommandRecord, 'segments'>): string[] {
  if (a.segments.length === 0) return [];
  const out = [s.dim('  segments:')];
  a.segments.slice(0, 12).forEach((seg, i) => {
    const argv = escapeForDisplay(seg.argv.join(' '));
    const shown = argv.length > 70 ? `${argv.slice(0, 69)}…` : argv;
    const where = seg.via === 'top' ? '' : s.dim(` [${seg.via}]`);
    const cover = seg.covered_by ? s.green(` ✓ ${seg.covered_by}`) : s.dim(' ✗ not whitelisted');
    out.push(`    ${i}. ${shown}${where}${cover}`);
  });
  if (a.segments.length > 12) out.push(s.dim(`    … ${a.segments.length - 12} more`));
  return out;
}

export function renderRecord(s: Style, record: CommandRecord, assessment: Assessment, whyNot: string | null): string {
  const lines = [headline(s, record.decision, record), ...commandLines(record.command)];
  lines.push(...signalLines(s, record.command, record.signals));
  if (assessment.issues.length > 0)
    for (const i of assessment.issues) lines.push(`  ${s.yellow('?')} ${i.code}: ${i.message}`);
  if (record.decision !== 'whitelisted') lines.push(...segmentLines(s, assessment));
  const by = record.decided_by ? `decided by ${record.decided_by}` : 'not decided';
  const latency = record.review_latency_ms !== null ? ` in ${record.review_latency_ms} ms` : '';
  lines.push(s.dim(`  ${by}${latency} · ${record.command_id} · policy ${record.policy_revision.slice(0, 19)}`));
  if (record.reason) lines.push(s.dim(`  ${record.reason}`));
  if (whyNot && record.decision !== 'whitelisted' && record.decision !== 'denied')
    lines.push(s.dim(`  not whitelisted: ${whyNot}`));
  lines.push(`  next: ${nextStep(record.decision)}`);
  return `${lines.join('\n')}\n`;
}

export function renderAssessment(s: Style, a: Assessment, whyNot: string | null): string {
  const lines = [headline(s, a.would_decide, a, 'WOULD BE '), ...commandLines(a.command)];
  lines.push(...signalLines(s, a.command, a.signals));
  for (const i of a.issues) lines.push(`  ${s.yellow('?')} ${i.code}: ${i.message}`);
  lines.push(...segmentLines(s, a));
  if (a.decided_by) lines.push(s.dim(`  by ${a.decided_by}`));
  if (whyNot && a.would_decide === 'pending') lines.push(s.dim(`  not whitelisted: ${whyNot}`));
  return `${lines.join('\n')}\n`;
}

/** "1m 05s left", "12s left", "expired" — how long a pending command still waits. */
export function timeLeft(ms: number | null): string {
  if (ms === null) return '-';
  if (ms <= 0) return 'expired';
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function clock(iso: string): string {
  return iso.slice(11, 19);
}

/** Everything a reviewer needs to decide one command. */
export function renderReview(s: Style, v: ReviewView): string {
  const r = v.record;
  const status = [
    r.decision === 'pending'
      ? `${timeLeft(v.time_left_ms)}${v.time_left_ms !== null && v.time_left_ms > 0 ? ' left' : ''}`
      : null,
    v.approvals_needed > 1
      ? `approvals ${v.approvals.length}/${v.approvals_needed}${v.approvals.length ? ` (${v.approvals.join(', ')})` : ''}`
      : null,
  ].filter((x): x is string => x !== null);
  const lines = [
    `${headline(s, r.decision, r)}${status.length ? `  · ${status.join(' · ')}` : ''}`,
    ...commandLines(r.command),
  ];
  lines.push(...signalLines(s, r.command, r.signals, 12));
  for (const i of r.issues) lines.push(`  ${s.yellow('?')} ${i.code}: ${i.message}`);
  lines.push(...segmentLines(s, r));
  lines.push(
    `  ${s.dim('session')} ${r.session_id ?? '-'}  ${s.dim('agent')} ${r.agent ?? '-'}  ${s.dim('cwd')} ${escapeForDisplay(r.cwd ?? '-')}`,
  );
  if (r.intent) lines.push(`  ${s.dim('intent')} ${escapeForDisplay(r.intent)}`);
  if (v.session.length > 0) {
    lines.push(s.dim(`  earlier in this session (${v.session.length}):`));
    for (const h of v.session.slice(-8)) {
      const cmd = escapeForDisplay(h.command).replace(/\n/g, '⏎');
      const by = h.decided_by && h.decision !== 'whitelisted' ? ` (${h.decided_by})` : '';
      lines.push(
        `    ${s.dim(clock(h.submitted_at))} ${`${h.decision}${by}`.padEnd(22)} ${cmd.length > 70 ? `${cmd.slice(0, 69)}…` : cmd}`,
      );
    }
  }
  if (r.decided_by)
    lines.push(
      s.dim(
        `  decided by ${r.decided_by}${r.review_latency_ms !== null ? ` in ${r.review_latency_ms} ms` : ''}${r.reason ? `: ${r.reason}` : ''}`,
      ),
    );
  lines.push(s.dim(`  ${r.command_id} · submitted ${r.submitted_at} · policy ${r.policy_revision.slice(0, 19)}`));
  return `${lines.join('\n')}\n`;
}
