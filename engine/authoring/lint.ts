/**
 * `policy lint`: everything wrong with a policy directory at once, each with a stable code and
 * file:line, for humans in pull requests and for bots.
 */
import { GateError } from '../util/errors.js';
import { assess } from '../gate/assess.js';
import { parseScript } from '../shell/parse.js';
import { ruleCoversSegment, type CompiledWhitelistRule } from '../whitelist/coverage.js';
import { OPTION_KINDS, RISKY_OPTIONS, riskyOption, riskySamples } from '../shell/options.js';
import { samplePattern, staticWords, type CompiledPattern } from '../whitelist/pattern.js';
import { EXAMPLE_TIME, runExamples } from '../gate/examples.js';
import { compile, listFiles, policyRevision, validate } from '../gate/load-policy.js';
import type { Policy } from '../gate/policy.js';

export const LINT_CODES = Object.freeze({
  PG100: 'invalid YAML or schema',
  PG101: 'duplicate id',
  PG102: 'rule without examples',
  PG103: 'example does not hold',
  PG104: 'expired whitelist rule',
  PG105: 'whitelist rule covers a dangerous command',
  PG106: 'shadowed whitelist rule (can never fire)',
  PG107: 'invalid match, pattern or reference',
  PG108: 'invalid gate.yaml',
  PG109:
    'whitelist pattern accepts an option that runs a command, loads code, writes or reads a file, or reaches another host',
  PG110: 'regular expression RE2 cannot run (backreferences, lookaround): not linear time',
});
export type LintCode = keyof typeof LINT_CODES;

export interface LintFinding {
  readonly code: LintCode;
  readonly file: string;
  readonly line: number;
  readonly rule: string | null;
  readonly message: string;
}

function codeOf(err: GateError): LintCode {
  const m = err.message;
  if (/^duplicate /.test(m)) return 'PG101';
  if (/no examples/.test(m)) return 'PG102';
  if (/^(?:YAML|schema|expected a mapping)/.test(m)) return err.location?.file === 'gate.yaml' ? 'PG108' : 'PG100';
  if (/levels must rise|gate\.yaml/.test(m) || err.location?.file === 'gate.yaml') return 'PG108';
  if (/invalid regular expression|\(RE2 syntax\)/.test(m)) return 'PG110';
  return 'PG107';
}

function finding(err: GateError): LintFinding {
  return {
    code: codeOf(err),
    file: err.location?.file ?? '',
    line: err.location?.line ?? 1,
    rule: err.location?.rule ?? null,
    message: err.message,
  };
}

type Dangerous = { example: string; script: ReturnType<typeof parseScript>; segment: number };
const dangerousCache = new WeakMap<Policy, Dangerous[]>();

/** Segments of the built-in attack examples that carry a non-waivable hit. */
function dangerousSegments(policy: Policy): Dangerous[] {
  const cached = dangerousCache.get(policy);
  if (cached) return cached;
  const out: Dangerous[] = [];
  for (const rule of policy.rules) {
    if (rule.waivable) continue;
    for (const example of rule.definition.examples?.match ?? []) {
      const a = assess(example, policy, { now: EXAMPLE_TIME, history: null });
      for (const s of a.signals)
        if (!s.waivable && s.segment !== null) out.push({ example, script: a.script, segment: s.segment });
    }
  }
  dangerousCache.set(policy, out);
  return out;
}

/**
 * Does a pattern accept an option that runs a command, loads code, writes or reads a file
 * outside the project, or reaches another host (options.ts)? Each such option, with a value
 * outside the project, is tried wherever the pattern could take it. Returns an example argv.
 */
export function acceptsRiskyOption(pattern: CompiledPattern): string | null {
  const programs = pattern.programs.map((p) => p.slice(p.lastIndexOf('/') + 1));
  const tools = new Set(programs);
  for (const words of samplePattern(pattern, 200)) for (const w of words) if (w in RISKY_OPTIONS) tools.add(w);
  const extra = [...tools].flatMap((t) => riskySamples(t));
  if (extra.length === 0) return null;
  for (const sample of samplePattern(pattern, 20_000, extra)) {
    for (const program of programs) {
      const use = riskyOption(program, staticWords(sample));
      if (use) return `${[program, ...sample].join(' ')} (${use.option} ${OPTION_KINDS[use.kind]})`;
    }
  }
  return null;
}

/** Would this whitelist rule cover a segment that a non-waivable rule flags in its own examples? */
export function coversDangerous(rule: CompiledWhitelistRule, policy: Policy): string | null {
  const now = EXAMPLE_TIME.getTime();
  for (const d of dangerousSegments(policy)) {
    const seg = d.script.segments[d.segment];
    if (seg && ruleCoversSegment(rule, seg, d.script, { now })) return d.example;
  }
  return null;
}

export async function lintPolicy(dir: string, options: { now?: Date } = {}): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  const report = (err: GateError): void => void findings.push(finding(err));
  let policy: Policy;
  try {
    const files = listFiles(dir);
    const source = await validate(files, policyRevision(files), report);
    policy = compile(dir, source, { eager: true, report });
  } catch (err) {
    if (!(err instanceof GateError)) throw err;
    if (!findings.some((f) => f.message === err.message)) report(err);
    return sorted(findings);
  }

  for (const r of runExamples(policy)) {
    if (!r.ok) findings.push({ code: 'PG103', file: r.file, line: r.line, rule: r.rule, message: r.message });
  }

  const now = (options.now ?? new Date()).getTime();
  for (const w of policy.whitelist) {
    if (w.expiresAt !== null && now > w.expiresAt) {
      findings.push({
        code: 'PG104',
        file: w.file,
        line: w.line,
        rule: w.id,
        message: `expired on ${w.definition.expires}: it never matches; renew it through review or remove it`,
      });
    }
    const dangerous = coversDangerous(w, policy);
    if (dangerous) {
      findings.push({
        code: 'PG105',
        file: w.file,
        line: w.line,
        rule: w.id,
        message: `covers a command that a non-waivable rule flags: ${JSON.stringify(dangerous)}`,
      });
    }
    for (const pattern of w.patterns) {
      const risky = acceptsRiskyOption(pattern);
      if (risky)
        findings.push({
          code: 'PG109',
          file: w.file,
          line: w.line,
          rule: w.id,
          message: `pattern ${JSON.stringify(pattern.source)} accepts ${risky}`,
        });
    }
  }

  // a rule whose every example is already covered by an earlier rule never decides anything
  const exampleNow = EXAMPLE_TIME.getTime();
  const covers = (rule: CompiledWhitelistRule, script: ReturnType<typeof parseScript>): boolean =>
    script.segments.some((s) => ruleCoversSegment(rule, s, script, { now: exampleNow }));
  policy.whitelist.forEach((w, j) => {
    const scripts = (w.definition.examples?.match ?? []).map((ex) => parseScript(ex));
    if (scripts.length === 0 || j === 0) return;
    const earlier = policy.whitelist.slice(0, j);
    const shadowed = scripts.every(
      (script) =>
        script.segments.length > 0 &&
        script.segments.every((s) => earlier.some((e) => ruleCoversSegment(e, s, script, { now: exampleNow }))),
    );
    if (!shadowed) return;
    const by = earlier.filter((e) => scripts.some((script) => covers(e, script)));
    findings.push({
      code: 'PG106',
      file: w.file,
      line: w.line,
      rule: w.id,
      message: `every example is already covered by ${by.map((e) => e.id).join(', ')}: this rule can never fire`,
    });
  });
  return sorted(findings);
}

function sorted(findings: LintFinding[]): LintFinding[] {
  return findings.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.code < b.code ? -1 : 1),
  );
}
