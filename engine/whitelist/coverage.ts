/**
 * Whitelist coverage: which reviewed rule, if any, covers each segment. A command is
 * whitelisted only when every segment is covered (allow needs all; one uncovered segment sends
 * it to review), and nothing outside the segments (a stray assignment or redirect) changes
 * what runs. A rule covers a segment only as written: no wrapper, privilege, assignment,
 * redirect or pipe it does not name, and never a segment with a non-waivable hit.
 */
import { compileGlob, compilePrefixGlob, normalizePath } from '../policy/paths.js';
import type { Refusal } from '../model/refusals.js';
import type { WhitelistRuleDefinition } from '../policy/types.js';
import type { Redirect, Script, Segment } from '../shell/ir.js';
import { OPTION_KINDS, projectValue, riskyOption } from '../shell/options.js';
import { compilePattern, matchArgs, matchesProgram, type CompiledPattern } from './pattern.js';

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

type Tester = { test(text: string): boolean };

function globs(list: readonly string[] | undefined): Tester[] | null {
  return list ? list.map((g) => compileGlob(g)) : null;
}

export interface CompiledWhitelistRule {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  /** The programs the patterns name (their first word), to skip rules cheaply. */
  readonly programs: ReadonlySet<string>;
  /** Compiled on first use unless compiled eagerly (a cold load validates them). */
  readonly patterns: readonly CompiledPattern[];
  readonly wrappers: ReadonlySet<string>;
  readonly env: ReadonlySet<string>;
  readonly pipes: ReadonlySet<'in' | 'out'>;
  /** End of the last valid day (UTC), or null. */
  readonly expiresAt: number | null;
  readonly maxRisk: number | null;
  readonly definition: WhitelistRuleDefinition & { file: string; line: number };
}

export function compileWhitelistRule(
  def: WhitelistRuleDefinition & { file: string; line: number },
  eager = true,
): CompiledWhitelistRule {
  const sources = Array.isArray(def.pattern) ? def.pattern : [def.pattern];
  let patterns: CompiledPattern[] | null = eager ? sources.map(compilePattern) : null;
  return {
    id: def.id,
    file: def.file,
    line: def.line,
    programs: new Set(
      sources.flatMap((p) =>
        (p.trim().split(/\s+/)[0] ?? '').split('|').map((name) => basename(name.replace(/^'(.*)'$/, '$1'))),
      ),
    ),
    get patterns(): readonly CompiledPattern[] {
      return (patterns ??= sources.map(compilePattern));
    },
    wrappers: new Set(def.wrappers ?? []),
    env: new Set(def.env ?? []),
    pipes: new Set(def.pipes ?? []),
    expiresAt: def.expires ? Date.parse(`${def.expires}T23:59:59.999Z`) : null,
    maxRisk: def.max_risk ?? null,
    definition: def,
  };
}

/** Redirects a covered segment may have without its rule naming them. */
function harmlessRedirect(r: Redirect): boolean {
  const t = r.target;
  switch (r.op) {
    case '>&':
    case '<&':
      return t !== null && !t.dynamic && /^(\d+|-)$/.test(t.text);
    case '>':
    case '>>':
    case '&>':
    case '&>>':
    case '>|':
      return t !== null && !t.dynamic && t.text === '/dev/null';
    case '<':
      // reading a file is reading it: a project file (or nothing), as a path argument would be
      return t !== null && !t.dynamic && !t.glob && (projectValue(t.text) || t.text === '/dev/null');
    case '<<':
    case '<<-':
    case '<<<':
      return r.text !== undefined && !r.text.dynamic;
    default:
      return false;
  }
}

function redirectOp(r: Redirect): string {
  const fd = r.fd === null || (r.fd === 1 && r.op !== '<') || (r.fd === 0 && r.op === '<') ? '' : String(r.fd);
  return `${fd}${r.op}`;
}

/** A redirect the rule names: same operator, a target inside the project matching its glob. */
function namedRedirect(rule: CompiledWhitelistRule, r: Redirect): boolean {
  const allowed = rule.definition.redirects;
  if (!allowed || !r.target || r.target.dynamic || r.target.glob) return false;
  const target = normalizePath(r.target.text);
  const op = redirectOp(r);
  return allowed.some((a) => {
    if (a.op !== op) return false;
    const absolute = a.target.startsWith('/');
    // relative targets must stay inside the working tree
    if (!absolute && (target.startsWith('/') || target.startsWith('~') || target === '..' || target.startsWith('../')))
      return false;
    return compilePrefixGlob(a.target).test(target);
  });
}

/** Who and where a command runs: the scope a rule may be limited to. */
export interface CoverageContext {
  readonly now: number;
  readonly cwd?: string | undefined;
  readonly agent?: string | undefined;
  readonly session?: string | undefined;
  /** Identifiers of the repository the command runs in (remote URL, work-tree path). */
  readonly repos?: readonly string[] | undefined;
  /** Segments with a non-waivable hit: no rule covers them. */
  readonly blocked?: ReadonlySet<number> | undefined;
  /** Why a rule may not be used (not reviewed, not signed …), or null when it may. */
  readonly refused?: ((rule: CompiledWhitelistRule) => string | null) | undefined;
  /** A `performance.now()` time past which no further segment is looked at (it stays uncovered). */
  readonly deadline?: number | undefined;
}

const scopeCache = new WeakMap<
  CompiledWhitelistRule,
  { cwd: Tester[] | null; sessions: Tester[] | null; repos: Tester[] | null }
>();

function inScope(rule: CompiledWhitelistRule, ctx: CoverageContext): boolean {
  const d = rule.definition;
  if (!d.cwd && !d.sessions && !d.repos && !d.agents) return true;
  let scope = scopeCache.get(rule);
  if (!scope) {
    scope = { cwd: globs(d.cwd), sessions: globs(d.sessions), repos: globs(d.repos) };
    scopeCache.set(rule, scope);
  }
  if (d.agents && (ctx.agent === undefined || !d.agents.includes(ctx.agent))) return false;
  if (scope.sessions && (ctx.session === undefined || !scope.sessions.some((g) => g.test(ctx.session!)))) return false;
  if (scope.cwd && (ctx.cwd === undefined || !scope.cwd.some((g) => g.test(normalizePath(ctx.cwd!))))) return false;
  if (scope.repos && !(ctx.repos ?? []).some((r) => scope.repos!.some((g) => g.test(r)))) return false;
  return true;
}

/** Does the rule's pattern, scope and allowances cover this segment? (Not whether it may be used.) */
export function ruleCoversSegment(
  rule: CompiledWhitelistRule,
  s: Segment,
  script: Script,
  ctx: CoverageContext,
): boolean {
  if (rule.expiresAt !== null && ctx.now > rule.expiresAt) return false;
  if (s.program === null || s.privileged || s.remote !== null || !rule.programs.has(s.program)) return false;
  // a program found through a directory only known at run time (`~/bin/x`) is not the one named
  if (s.argv[0]!.dynamic || s.argv[0]!.glob) return false;
  if (ctx.blocked?.has(s.id)) return false;
  if (!s.wrappers.every((w) => rule.wrappers.has(w.name))) return false;
  if (!s.assignments.every((a) => rule.env.has(a.name) && a.value !== null && !a.value.dynamic)) return false;
  if (!s.redirects.every((r) => harmlessRedirect(r) || namedRedirect(rule, r))) return false;
  if (s.payload?.dynamic) return false;
  for (const f of script.flows) {
    if (f.kind !== 'pipe' && f.kind !== 'process-substitution') continue;
    if (f.to === s.id && !rule.pipes.has('in')) return false;
    if (f.from === s.id && !rule.pipes.has('out')) return false;
  }
  if (!inScope(rule, ctx)) return false;
  const args = s.argv.slice(1);
  return rule.patterns.some((p) => matchesProgram(p, s) && matchArgs(p, args));
}

export interface Coverage {
  /** The covering rule id per segment (null: not covered). */
  readonly bySegment: readonly (string | null)[];
  /** Every segment covered, and nothing outside the segments changes what runs. */
  readonly complete: boolean;
  readonly rules: readonly string[];
  /** Rules that would have covered a segment but may not be used, and why. */
  readonly refused: readonly Refusal[];
}

export function coverage(script: Script, rules: readonly CompiledWhitelistRule[], ctx: CoverageContext): Coverage {
  const refused: Refusal[] = [];
  const bySegment = script.segments.map((s) => {
    if (ctx.deadline !== undefined && performance.now() > ctx.deadline) return null;
    // an option that runs, loads or writes something outside the project: no rule covers it,
    // however loosely its pattern was written
    const risky = s.program === null ? null : riskyOption(s.program, s.argv.slice(1));
    for (const r of rules) {
      if (!ruleCoversSegment(r, s, script, ctx)) continue;
      if (risky) {
        refused.push({
          rule_id: r.id,
          segment: s.id,
          reason: `${risky.option} ${OPTION_KINDS[risky.kind]}${risky.value === null ? '' : ` (${risky.value})`}`,
        });
        continue;
      }
      const reason = ctx.refused?.(r) ?? null;
      if (reason === null) return r.id;
      refused.push({ rule_id: r.id, segment: s.id, reason });
    }
    return null;
  });
  const strayAssignment = script.assignments.some((a) => a.segment === null);
  const strayRedirect = script.redirects.some((r) => r.segments.length === 0 && !harmlessRedirect(r));
  const complete =
    script.segments.length > 0 &&
    script.issues.length === 0 &&
    !strayAssignment &&
    !strayRedirect &&
    bySegment.every((id) => id !== null);
  const ids = [...new Set(bySegment.filter((id): id is string => id !== null))];
  return { bySegment, complete, rules: ids, refused };
}
