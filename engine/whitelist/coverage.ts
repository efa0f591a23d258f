/**
 * Whitelist coverage: which reviewed rule, if any, covers each segment. A command is
 * whitelisted only when every segment is covered (allow needs all; one uncovered segment sends
 * it to review), and nothing outside the segments (a stray assignment or redirect) changes
 * what runs.
 */
import type { Redirect, Script, Segment } from '../shell/ir.js';
import type { WhitelistRuleDefinition } from '../policy/types.js';
import { compilePattern, matchArgs, matchesProgram, type CompiledPattern } from './pattern.js';

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
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
  /** End of the last valid day (UTC), or null. */
  readonly expiresAt: number | null;
  readonly maxRisk: number | null;
  readonly definition: WhitelistRuleDefinition;
}

export function compileWhitelistRule(def: WhitelistRuleDefinition & { file: string; line: number }, eager = true): CompiledWhitelistRule {
  const sources = Array.isArray(def.pattern) ? def.pattern : [def.pattern];
  let patterns: CompiledPattern[] | null = eager ? sources.map(compilePattern) : null;
  return {
    id: def.id,
    file: def.file,
    line: def.line,
    programs: new Set(sources.map((p) => basename(p.trim().split(/\s+/)[0] ?? ''))),
    get patterns(): readonly CompiledPattern[] {
      return (patterns ??= sources.map(compilePattern));
    },
    wrappers: new Set(def.wrappers ?? []),
    env: new Set(def.env ?? []),
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
      return t !== null && !t.dynamic && !t.glob;
    case '<<':
    case '<<-':
    case '<<<':
      return r.text !== undefined && !r.text.dynamic;
    default:
      return false;
  }
}

export function ruleCoversSegment(rule: CompiledWhitelistRule, s: Segment, now: number): boolean {
  if (rule.expiresAt !== null && now > rule.expiresAt) return false;
  if (s.program === null || s.privileged || s.remote !== null || !rule.programs.has(s.program)) return false;
  if (!s.wrappers.every((w) => rule.wrappers.has(w.name))) return false;
  if (!s.assignments.every((a) => rule.env.has(a.name) && a.value !== null && !a.value.dynamic)) return false;
  if (!s.redirects.every(harmlessRedirect)) return false;
  if (s.payload?.dynamic) return false;
  const args = s.argv.slice(1);
  return rule.patterns.some((p) => matchesProgram(p, s) && matchArgs(p, args));
}

export interface Coverage {
  /** The covering rule id per segment (null: not covered). */
  readonly bySegment: readonly (string | null)[];
  /** Every segment covered, and nothing outside the segments changes what runs. */
  readonly complete: boolean;
  readonly rules: readonly string[];
}

export function coverage(script: Script, rules: readonly CompiledWhitelistRule[], now: number): Coverage {
  const bySegment = script.segments.map((s) => rules.find((r) => ruleCoversSegment(r, s, now))?.id ?? null);
  const strayAssignment = script.assignments.some((a) => a.segment === null);
  const strayRedirect = script.redirects.some((r) => r.segments.length === 0 && !harmlessRedirect(r));
  const complete =
    script.segments.length > 0 && script.issues.length === 0 && !strayAssignment && !strayRedirect && bySegment.every((id) => id !== null);
  const ids = [...new Set(bySegment.filter((id): id is string => id !== null))];
  return { bySegment, complete, rules: ids };
}
