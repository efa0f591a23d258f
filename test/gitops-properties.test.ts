/**
 * Properties of whitelist rules for ALL rules, not just the shipped ones: generated rules
 * (fast-check) never let an uncovered segment through, never whitelist a built-in attack example
 * once they pass lint, never match after they expire; and in Git every whitelisted decision
 * says where its rules come from.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { assess, loadPolicy, parseScript, type Policy } from '../engine/index.js';
import { coversDangerous } from '../engine/authoring/lint.js';
import { contentsOnly } from '../engine/gate/policy.js';
import { compileWhitelistRule, ruleCoversSegment, type CompiledWhitelistRule } from '../engine/whitelist/coverage.js';
import { compilePattern, patternLiteral, samplePattern } from '../engine/whitelist/pattern.js';
import { shellJoin } from '../engine/util/quote.js';
import { ALICE, GitRepo } from './git-fixture.js';
import { NOON, runCli, shippedPolicy, tempDir } from './helpers.js';
import { join } from 'node:path';

let policy: Policy;
beforeAll(async () => {
  policy = contentsOnly(await shippedPolicy());
});

const withRule = (p: Policy, rule: CompiledWhitelistRule): Policy => ({ ...p, whitelist: [...p.whitelist, rule] });
const judge = (p: Policy, cmd: string, now = NOON) => assess(cmd, p, { now, history: null });

const PLACEHOLDERS = [
  '<any>',
  '<path>',
  '<path:project>',
  '<file>',
  '<word>',
  '<int>',
  '<name>',
  '<branch>',
  '<url>',
  '<flags:-r|-f|-rf|-v>',
];

/** A pattern over `program`: literals from `words`, placeholders, optional and repeated parts. */
function patternOver(program: fc.Arbitrary<string>, words: readonly string[]): fc.Arbitrary<string> {
  const atom = fc.oneof(fc.constantFrom(...words.map(patternLiteral)), fc.constantFrom(...PLACEHOLDERS));
  const element = fc
    .tuple(atom, fc.constantFrom('', 'optional', 'repeat', 'optional-repeat'))
    .map(([a, m]) =>
      m === 'optional' ? `[ ${a} ]` : m === 'repeat' ? `${a}...` : m === 'optional-repeat' ? `[ ${a}... ]` : a,
    );
  return fc.tuple(program, fc.array(element, { maxLength: 4 })).map(([p, els]) => [p, ...els].join(' '));
}

const ruleArb = (pattern: fc.Arbitrary<string>, expires?: fc.Arbitrary<string | undefined>) =>
  fc
    .record({ pattern, pipes: fc.subarray(['in', 'out'] as const), expires: expires ?? fc.constant(undefined) })
    .map(({ pattern: p, pipes, expires: e }) =>
      compileWhitelistRule({
        id: 'generated.rule',
        owner: 'fc',
        reason: 'generated',
        pattern: p,
        ...(pipes.length ? { pipes: [...pipes] } : {}),
        ...(e ? { expires: e } : {}),
        file: 'whitelist/generated.yaml',
        line: 1,
      }),
    );

/** Commands the rule's pattern matches, as command lines. */
const samples = (rule: CompiledWhitelistRule, limit = 20): string[] =>
  rule.patterns.flatMap((p) => samplePattern(p, limit).map((words) => shellJoin([p.program, ...words])));

describe('generated whitelist rules', () => {
  it('whitelisting is per segment: a covered command joined with an uncovered one is never whitelisted', () => {
    // commands the shipped whitelist never covers (a project's `rm -rf build` it does)
    const OTHER = [
      'rm -rf /data',
      'curl -s https://x.example',
      'npm publish',
      'git push origin main',
      'python3 x.py',
      'bash',
      'nc -l 4444',
    ];
    const joiners = [
      (a: string, b: string) => `${a}; ${b}`,
      (a: string, b: string) => `${a} && ${b}`,
      (a: string, b: string) => `${a} | ${b}`,
      (a: string, b: string) => `${b} | ${a}`,
      (a: string, b: string) => `${a} $(${b})`,
      (a: string, b: string) => `${a} <(${b})`,
      (a: string, b: string) => `${a} & ${b}`,
    ];
    let covered = 0;
    fc.assert(
      fc.property(
        ruleArb(patternOver(fc.constantFrom('tool-a', 'tool-b', 'hugo'), ['build', '--fast', 'src/x', '-n', '5'])),
        fc.constantFrom(...OTHER),
        fc.constantFrom(...joiners),
        fc.nat(),
        (rule, other, join, pick) => {
          const p = withRule(policy, rule);
          const mine = samples(rule);
          const cmd = mine[pick % mine.length]!;
          if (judge(p, cmd).would_decide !== 'whitelisted') return;
          covered++;
          expect(judge(p, join(cmd, other)).would_decide).not.toBe('whitelisted');
        },
      ),
      { numRuns: 300 },
    );
    expect(covered).toBeGreaterThan(100);
  });

  it('a rule that passes lint never whitelists a built-in attack example', () => {
    const ceiling = policy.gate.whitelist_ceiling;
    const attacks = policy.rules
      .filter((r) => !r.waivable || r.score >= ceiling)
      .flatMap((r) => r.definition.examples?.match ?? [])
      .map((cmd) => ({ cmd, programs: new Set(parseScript(cmd).segments.map((s) => s.program)) }));
    const programs = [
      ...new Set(
        attacks.flatMap((a) => [...a.programs]).filter((p): p is string => p !== null && /^[a-z0-9._-]+$/.test(p)),
      ),
    ];
    const words = [
      ...new Set(
        attacks.flatMap((a) => parseScript(a.cmd).segments.flatMap((s) => s.argv.slice(1).map((w) => w.text))),
      ),
    ]
      .filter((w) => w.length > 0 && w.length < 40)
      .slice(0, 400);
    expect(attacks.length).toBeGreaterThan(200);
    let linted = 0;
    fc.assert(
      fc.property(ruleArb(patternOver(fc.constantFrom(...programs), words)), (rule) => {
        if (coversDangerous(rule, policy) !== null) return; // PG105: lint refuses it
        linted++;
        const p = withRule(policy, rule);
        for (const a of attacks) {
          if (![...rule.programs].some((prog) => a.programs.has(prog))) continue;
          expect(judge(p, a.cmd).would_decide, `${rule.definition.pattern} whitelists ${a.cmd}`).not.toBe(
            'whitelisted',
          );
        }
      }),
      { numRuns: 150 },
    );
    expect(linted).toBeGreaterThan(50);
  });

  it('a rule whose expiry has passed never matches, though it did the day before', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        ruleArb(
          patternOver(fc.constantFrom('tool-a', 'hugo'), ['build', '--fast', 'src/x']),
          fc
            .date({ min: new Date('2020-01-01'), max: new Date('2030-12-31'), noInvalidDate: true })
            .map((d) => d.toISOString().slice(0, 10)),
        ),
        fc.integer({ min: 1, max: 5000 }),
        (rule, daysAfter) => {
          const end = Date.parse(`${rule.definition.expires}T23:59:59.999Z`);
          const after = new Date(end + 1 + (daysAfter - 1) * 86_400_000);
          const dayBefore = new Date(end - 12 * 3600_000);
          const p = withRule(policy, rule);
          for (const cmd of samples(rule, 5)) {
            const script = parseScript(cmd);
            const seg = script.segments[0]!;
            if (!ruleCoversSegment(rule, seg, script, { now: dayBefore.getTime() })) continue;
            checked++;
            expect(ruleCoversSegment(rule, seg, script, { now: after.getTime() })).toBe(false);
            expect(judge(p, cmd, after).coverage.rules).not.toContain('generated.rule');
          }
        },
      ),
      { numRuns: 100 },
    );
    expect(checked).toBeGreaterThan(100);
  });

  it('an unexpired generated rule covers every argv its pattern describes (the sampler agrees with the matcher)', () => {
    fc.assert(
      fc.property(patternOver(fc.constantFrom('tool-a'), ['build', '--fast', 'src/x', "it's"]), (source) => {
        const rule = compileWhitelistRule({
          id: 'g.r',
          owner: 'o',
          reason: 'generated',
          pattern: source,
          file: 'x',
          line: 1,
        });
        for (const cmd of samples(rule, 10)) {
          const script = parseScript(cmd);
          expect(
            ruleCoversSegment(rule, script.segments[0]!, script, { now: NOON.getTime() }),
            `${source} / ${cmd}`,
          ).toBe(true);
        }
        expect(compilePattern(source).program).toBe('tool-a');
      }),
      { numRuns: 200 },
    );
  });
});

describe('provenance in Git', () => {
  let gitPolicy: Policy;
  let head: string;
  beforeAll(async () => {
    const repo = GitRepo.create();
    expect((await runCli(['init', repo.root])).code).toBe(0);
    head = repo.commit(ALICE, 'policy: initial');
    repo.push();
    gitPolicy = await loadPolicy(join(repo.root, 'policies'), { cacheDir: tempDir() });
  }, 30_000);

  it('every whitelisted decision carries the provenance of every rule it used', () => {
    const pool = gitPolicy.whitelist.flatMap((w) => w.definition.examples?.match ?? []);
    let whitelisted = 0;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(' && ', '; ', ' || '),
        (parts, sep) => {
          const a = judge(gitPolicy, parts.join(sep));
          if (a.would_decide !== 'whitelisted') return;
          whitelisted++;
          expect(a.policy_revision).toBe(head);
          expect(a.whitelist_provenance.map((p) => p.rule_id)).toEqual(a.coverage.rules);
          for (const p of a.whitelist_provenance) {
            expect(p.commit).toBe(head);
            expect(p.author).toBe('Alice Admin <alice@example.com>');
            expect(p.committed_at).toMatch(/^\d{4}-\d\d-\d\dT/);
            expect(p.file).toMatch(/^policies\/whitelist\/[a-z-]+\.yaml$/);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(whitelisted).toBeGreaterThan(100);
  });
});
