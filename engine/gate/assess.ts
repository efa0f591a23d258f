/**
 * Assessment: command text → IR → rule hits + context signals → score, level, whitelist
 * coverage and the decision the gate would take. Pure: time, history and paths are inputs.
 */
import type { TruncatedInput } from '../model/events.js';
import type { CompiledRule, Policy } from './policy.js';
import type { SessionHistory } from '../model/history.js';
import type { ProvenanceEntry } from '../model/provenance.js';
import type { Refusal } from '../model/refusals.js';
import type { SegmentReport } from '../model/segments.js';
import type { Category, Signal } from '../model/signals.js';
import { levelRank, type Level, type WouldDecide } from '../model/verdict.js';
import { contextSignals, workingHours } from '../risk/context.js';
import { combine, levelOf } from '../risk/score.js';
import { runnerTool, type MatchContext } from '../policy/match.js';
import { normalizePath } from '../policy/paths.js';
import type { Issue, IssueCode, Script } from '../shell/ir.js';
import { parseScript } from '../shell/parse.js';
import { byteOffsets, escapeForDisplay } from '../shell/text.js';
import { coverage, type CompiledWhitelistRule, type Coverage } from '../whitelist/coverage.js';
import { reviewRefusal } from '../whitelist/provenance.js';

export interface AssessContext {
  readonly now: Date;
  readonly cwd?: string | undefined;
  readonly home?: string | undefined;
  /** The project root (projectRoot in policy/paths.ts), null for none, undefined when not known. */
  readonly project?: string | null | undefined;
  /** The session's history from the store; null when there is no session or no store. */
  readonly history?: SessionHistory | null;
  readonly invalidUtf8?: boolean;
  /** The gate's own store, policy and key paths (tampering rules match them). */
  readonly protectedPaths?: readonly string[];
  /** Who submits, in which session and repository: whitelist rules may be scoped to these. */
  readonly agent?: string | undefined;
  readonly session?: string | undefined;
  readonly repos?: readonly string[] | undefined;
  /** Use whitelist rules only when their provenance passes the gitops checks (--require-reviewed). */
  readonly requireReviewed?: boolean;
  /** Milliseconds one assessment may take (ASSESS_BUDGET_MS unless set); past it the command is held. */
  readonly budgetMs?: number;
  /** The command is only the first bytes of an input over the size limit: it is not parsed. */
  readonly truncated?: TruncatedInput | undefined;
  /**
   * The system's time zone (an IANA name), found by the front end: off-hours are judged in it
   * when gate.yaml names none. Without one, UTC (examples and policy tests judge the same everywhere).
   */
  readonly timeZone?: string | undefined;
}

/** The largest command the gate reads whole (gate.yaml limits.max_command_bytes overrides it). */
export const DEFAULT_MAX_COMMAND_BYTES = 1024 * 1024;

/**
 * How long reading, scoring and matching one command may take. Past it the command gets a
 * `budget-exceeded` issue: scored by the rules that match that issue, never whitelisted.
 */
export const ASSESS_BUDGET_MS = 2000;

export interface Assessment {
  readonly command: string;
  readonly script: Script;
  readonly signals: readonly Signal[];
  readonly risk_score: number;
  readonly risk_level: Level;
  readonly segments: readonly SegmentReport[];
  readonly issues: readonly (Omit<Issue, 'span'> & { span: readonly [number, number] })[];
  readonly coverage: Coverage;
  /** Where the whitelist rules used come from (set when whitelisted). */
  readonly whitelist_provenance: readonly ProvenanceEntry[];
  /** Whitelist rules that would have covered a segment but may not be used, and why. */
  readonly whitelist_refused: readonly Refusal[];
  readonly would_decide: WouldDecide;
  readonly decided_by: string | null;
  readonly policy_revision: string;
  /** How long to wait for a reviewer at this level. */
  readonly timeout_ms: number;
  /**
   * When gate.yaml sets working hours: the local time the command was judged at (ISO 8601 with
   * the offset, to the second) and the zone it was judged in. Null without working hours.
   */
  readonly local_time: string | null;
  readonly time_zone: string | null;
}

export function assess(command: string, policy: Policy, ctx: AssessContext): Assessment {
  const deadline = performance.now() + (ctx.budgetMs ?? ASSESS_BUDGET_MS);
  const script = ctx.truncated
    ? truncatedScript(command, ctx.truncated)
    : parseScript(command, { invalidUtf8: ctx.invalidUtf8 ?? false, deadline });
  return assessScript(script, policy, ctx, deadline);
}

/** An input over the size limit: nothing of it is read as commands; it is held as too large. */
function truncatedScript(prefix: string, input: TruncatedInput): Script {
  const message =
    `the input is ${input.complete ? '' : 'at least '}${input.bytes} bytes, over the ${input.limit}-byte limit: ` +
    `only its first ${Buffer.byteLength(prefix)} bytes are kept, and it was not parsed`;
  return {
    source: prefix,
    segments: [],
    flows: [],
    redirects: [],
    assignments: [],
    functions: [],
    issues: [{ code: 'too-large', message, span: [0, prefix.length] }],
    hidden: [],
  };
}

export function assessScript(
  parsed: Script,
  policy: Policy,
  ctx: AssessContext,
  deadline = performance.now() + (ctx.budgetMs ?? ASSESS_BUDGET_MS),
): Assessment {
  let script = parsed;
  const toBytes = byteOffsets(script.source);
  const span = (s: readonly [number, number]): [number, number] => [toBytes(s[0]), toBytes(s[1])];
  const matchCtx = matchContext(script, ctx);
  const signals: Signal[] = [];
  const programs = new Set<string>();
  for (const s of script.segments) {
    if (s.program !== null) programs.add(s.program);
    const tool = runnerTool(s);
    if (tool !== null) programs.add(tool);
  }
  const signal = (rule: CompiledRule, hit: { segment: number | null; span: readonly [number, number] }): Signal => ({
    rule_id: rule.id,
    category: rule.category,
    score: rule.score,
    message: rule.message,
    segment: hit.segment,
    span: span(hit.span),
    waivable: rule.waivable,
  });
  let overBudget = script.issues.some((i) => i.code === 'budget-exceeded');
  for (const rule of policy.rules) {
    if (!overBudget && performance.now() > deadline) {
      overBudget = true;
      script = {
        ...script,
        issues: [
          ...script.issues,
          {
            code: 'budget-exceeded',
            message: 'scoring the command took longer than the gate allows; not every rule ran',
            span: [0, script.source.length],
          },
        ],
      };
    }
    if (overBudget && !matchesIssue(rule, 'budget-exceeded')) continue;
    if (rule.anchor && !intersects(rule.anchor, programs)) continue;
    const hit = rule.matcher(script, matchCtx);
    if (hit) signals.push(signal(rule, hit));
  }
  const offHours = policy.gate.context.off_hours;
  const hours = offHours ? workingHours(ctx.now, offHours, ctx.timeZone) : null;
  for (const c of contextSignals(ctx.now, [...programs], ctx.history ?? null, policy.gate.context, ctx.timeZone)) {
    signals.push({
      rule_id: c.id,
      category: 'context',
      score: c.score,
      message: c.message,
      segment: null,
      span: [0, toBytes(script.source.length)],
      waivable: true,
    });
  }
  signals.sort((a, b) => b.score - a.score || (a.rule_id < b.rule_id ? -1 : 1));
  const risk_score = combine(
    signals.map((s) => s.score),
    policy.gate.damping,
  );
  const risk_level = levelOf(risk_score, policy.gate.levels);
  const blocked = new Set(signals.filter((s) => !s.waivable && s.segment !== null).map((s) => s.segment!));
  const covered = coverage(script, policy.whitelist, {
    deadline,
    now: ctx.now.getTime(),
    cwd: ctx.cwd,
    agent: ctx.agent,
    session: ctx.session,
    repos: ctx.repos,
    blocked,
    refused: refusal(policy, ctx.requireReviewed ?? false),
  });
  // past the budget nothing is whitelisted (coverage stopped looking, or a rule did not run)
  const cov = overBudget || performance.now() > deadline ? { ...covered, complete: false } : covered;
  const { decision, decided_by } = route(signals, risk_score, risk_level, cov, policy);
  const segments: SegmentReport[] = script.segments.map((s, i) => ({
    argv: s.argv.map((w) => w.text),
    program: s.program,
    dynamic: s.program === null || s.argv.some((w) => w.dynamic || w.glob),
    covered_by: cov.bySegment[i] ?? null,
    via: s.via,
    parent: s.parent,
    wrappers: s.wrappers.map((w) => w.name),
    privileged: s.privileged,
    span: span(s.span),
  }));
  const timeouts = policy.gate.timeouts;
  return {
    command: script.source,
    script,
    signals,
    risk_score,
    risk_level,
    segments,
    issues: script.issues.map((i) => ({ code: i.code, message: i.message, span: span(i.span) })),
    coverage: cov,
    whitelist_provenance: decision === 'whitelisted' ? cov.rules.map((id) => provenanceEntry(policy, id)) : [],
    whitelist_refused: cov.refused,
    would_decide: decision,
    decided_by,
    policy_revision: policy.revision,
    timeout_ms: (timeouts[risk_level] ?? timeouts.default) * 1000,
    local_time: hours?.local_time ?? null,
    time_zone: hours?.time_zone ?? null,
  };
}

/** The rule scores this issue (`issue:` in its match, at the top or in a top-level `any`). */
function matchesIssue(rule: CompiledRule, code: IssueCode): boolean {
  const m = rule.definition.match;
  const has = (issue: IssueCode | readonly IssueCode[] | undefined): boolean =>
    issue !== undefined && (typeof issue === 'string' ? issue === code : issue.includes(code));
  return has(m.issue) || (m.any ?? []).some((a) => has(a.issue));
}

/** What rules see besides the script: directories (per segment), home, the gate's own paths. */
export function matchContext(
  script: Script,
  ctx: Pick<AssessContext, 'cwd' | 'home' | 'protectedPaths' | 'project'>,
): MatchContext {
  const base = { cwd: ctx.cwd, home: ctx.home, protectedPaths: ctx.protectedPaths, project: ctx.project };
  const perSegment = segmentDirectories(script, ctx.cwd).map((cwd) => ({ ...base, cwd }));
  return { ...base, forSegment: (id: number) => perSegment[id] ?? base };
}

/**
 * The directory each segment runs in, following `cd` and `pushd` in order. An approximation
 * that errs towards judging more paths: a `cd` in a subshell or a branch counts for the rest.
 */
function segmentDirectories(script: Script, cwd: string | undefined): (string | undefined)[] {
  let current = cwd;
  return script.segments.map((s) => {
    const here = current;
    if ((s.program === 'cd' || s.program === 'pushd') && s.argv.length >= 2) {
      const target = s.argv[s.argv.length - 1]!;
      if (target.dynamic || target.glob || target.text === '-') current = undefined;
      else if (target.text.startsWith('/') || target.text.startsWith('~') || target.text.startsWith('$HOME'))
        current = normalizePath(target.text);
      else current = current === undefined ? undefined : normalizePath(`${current}/${target.text}`);
    } else if (s.program === 'cd' || s.program === 'popd') {
      current = s.program === 'cd' ? '~' : undefined;
    }
    return here;
  });
}

function provenanceEntry(policy: Policy, id: string): ProvenanceEntry {
  const p = policy.provenance?.rules[id];
  const rule = policy.whitelist.find((w) => w.id === id);
  if (p) return { ...p, reviewed_by: [...p.reviewed_by] };
  // not in Git, or not committed: say so rather than leave it out
  return {
    rule_id: id,
    file: rule?.file ?? '',
    commit: null,
    author: null,
    committed_at: null,
    reviewed_by: [],
    reviewed_at: null,
    merge_commit: null,
    merged_by: null,
  };
}

/** Under require_reviewed, the reason a rule may not be used (see provenance.ts). */
function refusal(policy: Policy, flag: boolean): ((rule: CompiledWhitelistRule) => string | null) | undefined {
  const gitops = policy.gate.gitops ?? {};
  if (!flag && gitops.require_reviewed !== true) return undefined;
  const signed = gitops.require_signed === true;
  return (rule) => reviewRefusal(policy.provenance, rule.id, signed);
}

function intersects(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size < b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) return true;
  return false;
}

/**
 * Routing, strictest first: at or above the deny level → denied by the top rule; every segment
 * covered, no non-waivable hit, under the ceiling and every rule's own limit → whitelisted;
 * anything else waits for a human. An issue in the parse never whitelists.
 */
export function route(
  signals: readonly Signal[],
  score: number,
  level: Level,
  cov: Coverage,
  policy: Policy,
): { decision: WouldDecide; decided_by: string | null } {
  if (levelRank(level) >= levelRank(policy.gate.deny_at)) {
    const top = signals.find((s) => s.category !== 'context') ?? signals[0];
    return { decision: 'denied', decided_by: `policy_rule:${top?.rule_id ?? 'unknown'}` };
  }
  const blocked = signals.some((s) => !s.waivable);
  const underCeiling = score < policy.gate.whitelist_ceiling;
  const withinRules = cov.rules.every((id) => {
    const max = policy.whitelist.find((w) => w.id === id)?.maxRisk;
    return max === null || max === undefined || score <= max;
  });
  if (cov.complete && !blocked && underCeiling && withinRules) {
    return { decision: 'whitelisted', decided_by: `whitelist_rule:${cov.rules.join('+')}` };
  }
  return { decision: 'pending', decided_by: null };
}

/** Why a command was not whitelisted, for the human view. */
export function whyNotWhitelisted(a: Assessment, policy: Policy): string | null {
  if (a.would_decide === 'whitelisted') return null;
  if (a.issues.length > 0) return `the command could not be fully understood (${a.issues[0]!.code})`;
  const uncovered = a.segments.findIndex((s) => s.covered_by === null);
  if (uncovered !== -1) {
    const shown = `\`${escapeForDisplay(a.segments[uncovered]!.argv.join(' '))}\``;
    const refusal = a.whitelist_refused.find((r) => r.segment === uncovered);
    if (refusal) return `whitelist rule ${refusal.rule_id} matches ${shown} but may not be used: ${refusal.reason}`;
    return `no whitelist rule covers ${shown}`;
  }
  if (!a.coverage.complete) return 'an assignment or redirect outside the commands is not covered';
  const hard = a.signals.find((s) => !s.waivable);
  if (hard) return `rule ${hard.rule_id} can never be whitelisted`;
  if (a.risk_score >= policy.gate.whitelist_ceiling)
    return `risk ${a.risk_score} is not under the whitelist ceiling ${policy.gate.whitelist_ceiling}`;
  return 'a whitelist rule limits the risk it accepts';
}
