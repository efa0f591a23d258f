/**
 * Every rule carries its own examples; they run when a policy loads cold and in `policy test`.
 * A rule whose `match` examples do not fire, or whose `no_match` examples do, fails the load.
 *
 * An example must also parse without issues, unless its rule is about that issue: an example
 * the parser cannot read proves nothing (a command with an issue is never whitelisted, and a
 * `no_match` example passes when the parser drops the construct the rule looks for).
 */
import { assess, matchContext, type AssessContext } from './assess.js';
import type { MatchDefinition, OneOrMany, SegmentPredicate } from '../policy/types.js';
import type { Issue, IssueCode } from '../shell/ir.js';
import { parseScript } from '../shell/parse.js';
import { escapeForDisplay } from '../shell/text.js';
import { compileWhitelistRule, ruleCoversSegment, type CompiledWhitelistRule } from '../whitelist/coverage.js';
import { contentsOnly, type CompiledRule, type Policy } from './policy.js';

export interface ExampleResult {
  readonly rule: string;
  readonly kind: 'rule' | 'whitelist';
  readonly file: string;
  readonly line: number;
  readonly example: string;
  readonly expect: 'match' | 'no_match';
  readonly ok: boolean;
  readonly message: string;
}

/** A fixed working-hours instant, so examples never depend on when they run. */
export const EXAMPLE_TIME = new Date('2026-01-07T12:00:00Z');

const exampleContext: AssessContext = { now: EXAMPLE_TIME, history: null };

export function runExamples(reviewed: Policy): ExampleResult[] {
  // examples document what a rule does, merged or not
  const policy = contentsOnly(reviewed);
  const results: ExampleResult[] = [];
  for (const rule of policy.rules) {
    const about = issuesAbout(rule);
    const { match = [], no_match = [] } = rule.definition.examples ?? {};
    for (const [expect, list] of [
      ['match', match],
      ['no_match', no_match],
    ] as const) {
      for (const example of list) {
        const script = parseScript(example);
        const hit = rule.matcher(script, matchContext(script, exampleContext)) !== null;
        const unread = unexpectedIssue(script.issues, about);
        const ok = !unread && (expect === 'match' ? hit : !hit);
        let message = 'ok';
        if (unread) message = issueMessage(expect, example, unread);
        else if (!ok)
          message = `example ${expect === 'match' ? 'does not match' : 'matches'}: ${JSON.stringify(example)}`;
        results.push({ rule: rule.id, kind: 'rule', file: rule.file, line: rule.line, example, expect, ok, message });
      }
    }
  }
  const now = EXAMPLE_TIME.getTime();
  for (const scoped of policy.whitelist) {
    // examples document the pattern and its allowances; they run inside the rule's scope
    const rule = unscoped(scoped);
    const judged =
      rule === scoped ? policy : { ...policy, whitelist: policy.whitelist.map((w) => (w === scoped ? rule : w)) };
    const { match = [], no_match = [] } = rule.definition.examples ?? {};
    for (const [expect, list] of [
      ['match', match],
      ['no_match', no_match],
    ] as const) {
      for (const example of list) {
        // an example documents what the whole gate does: this rule covers part of it (other
        // rules may cover the rest, as `cat` in a commit message's here-document) AND it is whitelisted
        const a = assess(example, judged, exampleContext);
        const covered = a.script.segments.some((s) => ruleCoversSegment(rule, s, a.script, { now }));
        const whitelisted = covered && a.would_decide === 'whitelisted';
        // a whitelist pattern is about no issue: one in its example is why it is not whitelisted
        const unread = unexpectedIssue(a.script.issues, NO_ISSUES);
        const ok = !unread && (expect === 'match' ? whitelisted : !whitelisted);
        let message = 'ok';
        if (unread) message = issueMessage(expect, example, unread);
        else if (!ok && expect === 'no_match')
          message = `example is whitelisted by this rule: ${JSON.stringify(example)}`;
        else if (!ok && !covered) message = `example is not covered: ${JSON.stringify(example)}`;
        else if (!ok) {
          const why = `${a.would_decide}, risk ${a.risk_score}${a.signals[0] ? `, ${a.signals[0].rule_id}` : ''}`;
          message = `example is covered but not whitelisted (${why}): ${JSON.stringify(example)}`;
        }
        results.push({
          rule: rule.id,
          kind: 'whitelist',
          file: rule.file,
          line: rule.line,
          example,
          expect,
          ok,
          message,
        });
      }
    }
  }
  return results;
}

const NO_ISSUES: ReadonlySet<IssueCode> = new Set();

/** Issues that come with code only known at run time: a run-time command name, payload or text. */
const RUN_TIME: readonly IssueCode[] = ['dynamic-command', 'dynamic-payload', 'expanded-code'];

/**
 * The parse issues a rule is about, read from its match: every issue for a parser rule; those it
 * names (`issue:`); and those that come with what it matches: a function (`function:` needs a
 * definition), a variable set by an assignment alone (`assignment:`; a bare assignment runs no
 * command: `empty`), a program, argument or payload only known at run time (`dynamic_program`,
 * `dynamic_args`, `payload.dynamic`), and data reaching a command through a substitution or a
 * variable (a `flow` that may take those kinds: code produced at run time).
 */
export function issuesAbout(rule: CompiledRule): ReadonlySet<IssueCode> | 'all' {
  if (rule.category === 'parser') return 'all';
  const codes = new Set<IssueCode>();
  const segment = (p: SegmentPredicate | undefined): void => {
    if (!p) return;
    if (p.dynamic_program) codes.add('dynamic-command');
    if (p.dynamic_args || p.payload?.dynamic) for (const c of RUN_TIME) codes.add(c);
    p.any?.forEach(segment);
    p.all?.forEach(segment);
  };
  const match = (d: MatchDefinition): void => {
    for (const c of many(d.issue)) codes.add(c);
    if (d.function) codes.add('function-definition');
    if (d.assignment) codes.add('empty');
    if (d.flow) {
      if (!d.flow.kinds || d.flow.kinds.some((k) => k === 'substitution' || k === 'variable'))
        for (const c of RUN_TIME) codes.add(c);
      segment(d.flow.from);
      segment(d.flow.to);
    }
    segment(d.segment);
    segment(d.redirect?.segment);
    d.sequence?.forEach(segment);
    d.any?.forEach(match);
    d.all?.forEach(match);
  };
  match(rule.definition.match);
  return codes;
}

function many<T>(v: OneOrMany<T> | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The first issue of an example's parse that its rule is not about, if any. */
function unexpectedIssue(issues: readonly Issue[], about: ReadonlySet<IssueCode> | 'all'): Issue | undefined {
  return about === 'all' ? undefined : issues.find((i) => !about.has(i.code));
}

function issueMessage(expect: 'match' | 'no_match', example: string, issue: Issue): string {
  return (
    `${expect} example ${JSON.stringify(example)} does not parse cleanly: ${issue.code} ` +
    `(${escapeForDisplay(issue.message)}); only a rule about that issue may have such an example`
  );
}

/** The rule without its scope (repos, cwd, agents, sessions). */
function unscoped(rule: CompiledWhitelistRule): CompiledWhitelistRule {
  const { repos, cwd, agents, sessions, ...rest } = rule.definition;
  if (!repos && !cwd && !agents && !sessions) return rule;
  return compileWhitelistRule(rest);
}

export function checkExamples(policy: Policy): ExampleResult[] {
  return runExamples(policy).filter((r) => !r.ok);
}
