/**
 * Every rule carries its own examples; they run when a policy loads cold and in `policy test`.
 * A rule whose `match` examples do not fire, or whose `no_match` examples do, fails the load.
 */
import { assess, matchContext, type AssessContext } from './assess.js';
import { parseScript } from '../shell/parse.js';
import { compileWhitelistRule, ruleCoversSegment, type CompiledWhitelistRule } from '../whitelist/coverage.js';
import { contentsOnly, type Policy } from './policy.js';

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
    const { match = [], no_match = [] } = rule.definition.examples ?? {};
    for (const [expect, list] of [
      ['match', match],
      ['no_match', no_match],
    ] as const) {
      for (const example of list) {
        const script = parseScript(example);
        const hit = rule.matcher(script, matchContext(script, exampleContext)) !== null;
        const ok = expect === 'match' ? hit : !hit;
        results.push({
          rule: rule.id,
          kind: 'rule',
          file: rule.file,
          line: rule.line,
          example,
          expect,
          ok,
          message: ok
            ? 'ok'
            : `example ${expect === 'match' ? 'does not match' : 'matches'}: ${JSON.stringify(example)}`,
        });
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
        const ok = expect === 'match' ? whitelisted : !whitelisted;
        let message = 'ok';
        if (!ok && expect === 'no_match') message = `example is whitelisted by this rule: ${JSON.stringify(example)}`;
        else if (!ok && !covered) message = `example is not covered: ${JSON.stringify(example)}`;
        else if (!ok)
          message = `example is covered but not whitelisted (${a.would_decide}, risk ${a.risk_score}${a.signals[0] ? `, ${a.signals[0].rule_id}` : ''}): ${JSON.stringify(example)}`;
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

/** The rule without its scope (repos, cwd, agents, sessions). */
function unscoped(rule: CompiledWhitelistRule): CompiledWhitelistRule {
  const { repos, cwd, agents, sessions, ...rest } = rule.definition;
  if (!repos && !cwd && !agents && !sessions) return rule;
  return compileWhitelistRule(rest);
}

export function checkExamples(policy: Policy): ExampleResult[] {
  return runExamples(policy).filter((r) => !r.ok);
}
