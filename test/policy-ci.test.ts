/**
 * What runs on a policy pull request: `policy lint` (every problem at once, stable codes,
 * file:line) and `policy diff` (major/minor/patch, and the decisions that would change).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINT_CODES, lintPolicy } from '../engine/authoring/lint.js';
import { ALICE, GitRepo } from './git-fixture.js';
import { POLICY_DIR, runCli, tempDir } from './helpers.js';

const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');

function copyPolicy(): string {
  const dir = join(tempDir(), 'policies');
  cpSync(POLICY_DIR, dir, { recursive: true });
  return dir;
}

import { ALICE as REVIEWER_A, BOB as REVIEWER_B, reviewPolicyDir } from './review-fixture.js';

/** Edit a YAML file through its document, keeping the rest as it is. */
function edit(path: string, change: (doc: import('yaml').Document) => void): void {
  const doc = yaml.parseDocument(readFileSync(path, 'utf8'));
  change(doc);
  writeFileSync(path, doc.toString({ lineWidth: 0 }));
}

function ruleIndex(doc: import('yaml').Document, list: 'rules' | 'whitelist', id: string): number {
  const items = (doc.toJS() as Record<string, { id: string }[]>)[list]!;
  const i = items.findIndex((r) => r.id === id);
  if (i === -1) throw new Error(`no ${id}`);
  return i;
}

describe('policy lint', () => {
  it('the shipped policy lints clean', async () => {
    expect(await lintPolicy(POLICY_DIR)).toEqual([]);
    const r = await runCli(['policy', 'lint', '--policy', POLICY_DIR]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lint: no findings in /);
    // lint runs every rule's examples and samples every whitelist pattern, twice here
  }, 120_000);

  it('reports every problem at once, each with a stable code and file:line', async () => {
    const dir = copyPolicy();
    writeFileSync(
      join(dir, 'rules', 'extra.yaml'),
      `rules:
  - id: destruction.rm-recursive-system
    category: destruction
    severity: low
    description: a second rule with a shipped id
    match: { segment: { program: rm } }
    examples: { match: [rm x] }
  - id: network.untested
    category: network
    severity: low
    description: a rule nobody tested
    match: { segment: { program: nmap } }
  - id: network.wrong-example
    category: network
    severity: low
    description: its example does not hold
    match: { segment: { program: nmap } }
    examples: { match: [masscan 10.0.0.0/8] }
  - id: network.backtracking
    category: network
    severity: low
    description: a regex RE2 cannot run in linear time (a backreference)
    match: { segment: { program: nmap, argv_regex: "(a+)\\\\1" } }
    examples: { match: [nmap aa] }
`,
    );
    writeFileSync(
      join(dir, 'whitelist', 'team.yaml'),
      `whitelist:
  - id: hugo.old
    owner: bob
    reason: the old docs build
    pattern: hugo version
    expires: 2026-06-30
    examples: { match: [hugo version] }
  - id: rm.anything
    owner: bob
    reason: cleaning up
    pattern: rm <any>...
    examples: { match: [rm /tmp/x.txt] }
  - id: git.status-again
    owner: bob
    reason: same as git.status
    pattern: git status
    examples: { match: [git status] }
  - id: hugo.bad
    owner: bob
    reason: a pattern with an unknown placeholder
    pattern: hugo <nonsense>
    examples: { match: [hugo x] }
  - id: eslint.any-format
    owner: bob
    reason: a formatter option whose value is any word loads any module
    pattern: "npx eslint [-f <word>] <path:project>"
    examples: { match: [npx eslint src] }
`,
    );
    writeFileSync(join(dir, 'whitelist', 'broken.yaml'), 'whitelist:\n  - id: no.fields\n');
    edit(join(dir, 'gate.yaml'), (doc) => doc.setIn(['levels', 'medium'], 70));

    const findings = await lintPolicy(dir, { now: new Date('2026-11-26T12:00:00Z') });
    const got = findings.map((f) => `${f.file}:${f.line}: ${f.code} ${f.rule ?? '-'}`);
    expect(got).toEqual([
      'gate.yaml:4: PG108 -',
      'rules/extra.yaml:2: PG101 destruction.rm-recursive-system',
      'rules/extra.yaml:8: PG102 network.untested',
      'rules/extra.yaml:13: PG103 network.wrong-example',
      'rules/extra.yaml:19: PG110 network.backtracking',
      'whitelist/broken.yaml:2: PG100 no.fields',
      'whitelist/team.yaml:2: PG104 hugo.old',
      'whitelist/team.yaml:8: PG105 rm.anything',
      'whitelist/team.yaml:13: PG106 git.status-again',
      'whitelist/team.yaml:18: PG107 hugo.bad',
      'whitelist/team.yaml:23: PG109 eslint.any-format',
    ]);
    expect(findings.find((f) => f.code === 'PG109')!.message).toMatch(/accepts npx eslint -f \S+ .*\(-f loads code/);
    expect(findings.find((f) => f.code === 'PG110')).toMatchObject({
      file: 'rules/extra.yaml',
      rule: 'network.backtracking',
    });
    expect(findings.find((f) => f.code === 'PG110')!.message).toMatch(/RE2/);
    expect(findings.find((f) => f.code === 'PG105')!.message).toMatch(
      /covers a command that a non-waivable rule flags: "rm -rf/,
    );
    expect(findings.find((f) => f.code === 'PG106')!.message).toBe(
      'every example is already covered by git.status: this rule can never fire',
    );
    expect(Object.keys(LINT_CODES)).toEqual([
      'PG100',
      'PG101',
      'PG102',
      'PG103',
      'PG104',
      'PG105',
      'PG106',
      'PG107',
      'PG108',
      'PG109',
      'PG110',
    ]);

    const r = await runCli(['policy', 'lint', '--policy', dir]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(
      'rules/extra.yaml:2: PG101 destruction.rm-recursive-system: duplicate rule id (first defined at rules/destruction.yaml:3)\n',
    );
    expect(r.stdout).toContain('lint: 11 finding(s)');
    const j = await runCli(['policy', 'lint', '--json', '--policy', dir]);
    expect(JSON.parse(j.stdout)).toMatchObject({
      ok: false,
      findings: expect.arrayContaining([
        expect.objectContaining({ code: 'PG104', file: 'whitelist/team.yaml', line: 2, rule: 'hugo.old' }),
      ]),
    });
    // and the gate itself refuses to run on such a policy (fail closed)
    const check = await runCli(['check', '--policy', dir, '--', 'git status']);
    expect(check.code).toBe(2);
  });
});

describe('policy diff', () => {
  async function repoWithPolicy(): Promise<{ repo: GitRepo; policies: string; base: string }> {
    const repo = GitRepo.create();
    cpSync(POLICY_DIR, join(repo.root, 'policies'), { recursive: true });
    const base = repo.commit(ALICE, 'policies');
    return { repo, policies: join(repo.root, 'policies'), base };
  }

  it('classifies a change and replays the test cases and the audit trail through both versions', async () => {
    const { repo, policies, base } = await repoWithPolicy();
    // an audit trail with a command the change would let through
    const store = join(tempDir(), 'audit.db');
    const recorded = await runCli([
      'check',
      '--json',
      '--no-wait',
      '--policy',
      policies,
      '--store',
      store,
      '--',
      'LD_PRELOAD=/tmp/hook.so make',
    ]);
    const { command_id } = JSON.parse(recorded.stdout);

    edit(join(policies, 'rules', 'evasion.yaml'), (doc) =>
      doc.deleteIn(['rules', ruleIndex(doc, 'rules', 'evasion.ld-preload')]),
    );
    edit(join(policies, 'rules', 'destruction.yaml'), (doc) => {
      doc.setIn(['rules', ruleIndex(doc, 'rules', 'destruction.rm-recursive-system'), 'waivable'], true);
    });
    edit(join(policies, 'rules', 'remote-exec.yaml'), (doc) => {
      doc.setIn(
        ['rules', ruleIndex(doc, 'rules', 'remote-exec.download-to-shell'), 'description'],
        'Downloads piped into a shell: the classic curl | sh',
      );
    });
    edit(join(policies, 'rules', 'tampering.yaml'), (doc) => {
      const i = ruleIndex(doc, 'rules', 'tampering.gate-files');
      doc.deleteIn(['rules', i, 'severity']);
      doc.setIn(['rules', i, 'score'], 40);
    });
    edit(join(policies, 'whitelist', 'git.yaml'), (doc) =>
      doc.setIn(['whitelist', ruleIndex(doc, 'whitelist', 'git.status'), 'pattern'], 'git status [<any>...]'),
    );
    writeFileSync(
      join(policies, 'whitelist', 'team.yaml'),
      'whitelist:\n  - id: hugo.build\n    owner: bob\n    reason: documentation\n    pattern: hugo\n    examples: { match: [hugo] }\n',
    );
    edit(join(policies, 'gate.yaml'), (doc) => doc.set('whitelist_ceiling', 50));

    const r = await runCli([
      'policy',
      'diff',
      base,
      '--policy',
      policies,
      '--store',
      store,
      '--since',
      '2020-01-01T00:00:00Z',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.level).toBe('major');
    expect(d.base).toEqual({ ref: base, revision: expect.stringMatching(/^sha256:/) });
    expect(d.head.ref).toBe('working tree');
    const summary = d.changes.map(
      (c: { level: string; kind: string; id: string; change: string }) => `${c.level} ${c.kind} ${c.id} ${c.change}`,
    );
    expect(summary).toEqual(
      expect.arrayContaining([
        'major rule evasion.ld-preload removed',
        'major rule tampering.gate-files score-lowered',
        'major rule destruction.rm-recursive-system waivable-on',
        'major whitelist git.status broadened',
        'major gate whitelist_ceiling loosened',
        'minor whitelist hugo.build added',
        'patch rule remote-exec.download-to-shell docs',
      ]),
    );
    expect(
      d.changes.find((c: { id: string; change: string }) => c.id === 'git.status' && c.change === 'broadened').message,
    ).toMatch(/now covers `git status /);
    // the replay: the case that relied on the removed rule, and the recorded command
    expect(d.replayed.cases).toBeGreaterThan(30);
    expect(d.replayed.audit).toBe(1);
    expect(d.decisions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          source: 'case',
          command: 'LD_PRELOAD=/tmp/hook.so git status',
          before: expect.objectContaining({ decision: 'denied' }),
          direction: 'looser',
        }),
        expect.objectContaining({
          source: 'audit',
          ref: command_id,
          before: expect.objectContaining({ decision: 'denied' }),
          direction: 'looser',
        }),
      ]),
    );
    expect(summary).toContain('major replay evasion.ld-preload detection-weakened');

    // for humans: the level, each change, each changed decision; --fail-on for CI
    const human = await runCli(['policy', 'diff', base, '--policy', policies, '--fail-on', 'major']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^policy diff [0-9a-f]{40} → working tree: MAJOR$/m);
    expect(human.stdout).toMatch(/^ {2}MAJOR {2}rule +evasion\.ld-preload: rule removed/m);
    expect(human.stdout).toMatch(
      /^ {2}looser {3}denied\/critical → .* tests\/regressions\.yaml#\d+ {2}LD_PRELOAD=\/tmp\/hook\.so git status$/m,
    );
    expect(human.stdout).toContain('the change is major, at or above --fail-on major');
  });

  it('patch when only documentation changes, none when nothing does; between commits and between directories', async () => {
    const { repo, policies, base } = await repoWithPolicy();
    edit(join(policies, 'whitelist', 'git.yaml'), (doc) =>
      doc.setIn(
        ['whitelist', ruleIndex(doc, 'whitelist', 'git.status'), 'reason'],
        'read-only, and agents need it all the time',
      ),
    );
    const head = repo.commit(ALICE, 'docs');
    const r = await runCli(['policy', 'diff', base, head, '--policy', policies, '--json', '--fail-on', 'minor']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      level: 'patch',
      changes: [{ level: 'patch', kind: 'whitelist', id: 'git.status', change: 'docs', message: 'reason changed' }],
      decisions: [],
    });
    const same = await runCli(['policy', 'diff', head, '--policy', policies, '--json']);
    expect(JSON.parse(same.stdout)).toMatchObject({ level: 'none', changes: [], decisions: [] });
    // two directories, no Git needed
    const copy = copyPolicy();
    edit(join(copy, 'whitelist', 'git.yaml'), (doc) =>
      doc.setIn(['whitelist', ruleIndex(doc, 'whitelist', 'git.status'), 'pattern'], 'git status --short'),
    );
    // a relative directory is resolved from the caller's working directory
    const dirs = await runCli(['policy', 'diff', POLICY_DIR, 'policies', '--json'], { cwd: dirname(copy) });
    expect(JSON.parse(dirs.stdout)).toMatchObject({
      level: 'minor',
      changes: [{ kind: 'whitelist', id: 'git.status', change: 'narrowed' }],
    });
  });

  it('a narrowed or re-ordered pattern is not "broadened"; dropping a scope or allowing a pipe is', async () => {
    const dir = copyPolicy();
    const rule = (extra: string) =>
      `whitelist:\n` +
      `  - id: hugo.build\n` +
      `    owner: bob\n` +
      `    reason: documentation\n` +
      `    pattern: hugo [--minify] [--gc]\n` +
      `    agents: [codex]\n` +
      `${extra}    examples: { match: [hugo] }\n`;
    writeFileSync(join(dir, 'whitelist', 'team.yaml'), rule(''));
    const head = copyPolicy();
    writeFileSync(join(head, 'whitelist', 'team.yaml'), rule('').replace('hugo [--minify] [--gc]', 'hugo [--gc]'));
    const narrowed = JSON.parse((await runCli(['policy', 'diff', dir, head, '--json'])).stdout);
    expect(narrowed.changes).toEqual([expect.objectContaining({ level: 'minor', change: 'narrowed' })]);
    writeFileSync(
      join(head, 'whitelist', 'team.yaml'),
      rule('    pipes: [out]\n').replace('    agents: [codex]\n', ''),
    );
    const broader = JSON.parse((await runCli(['policy', 'diff', dir, head, '--json'])).stdout);
    expect(broader.changes.map((c: { message: string }) => c.message)).toEqual([
      'pipes now allows out',
      'scope agents removed: it now applies everywhere',
    ]);
  });

  it('a changed pattern with too many forms to compare counts as broadened', async () => {
    const dir = copyPolicy();
    const rule = (pattern: string) =>
      `whitelist:\n` +
      `  - id: tool.many\n` +
      `    owner: bob\n` +
      `    reason: a pattern with many forms\n` +
      `    pattern: ${pattern}\n` +
      `    examples: { match: [tool a] }\n`;
    writeFileSync(join(dir, 'whitelist', 'team.yaml'), rule('tool a [b]'));
    const head = copyPolicy();
    const huge = `tool a ${'[<flags:-a|-b|-c|-d|-e|-f|-g|-h>...] '.repeat(4)}`.trim();
    writeFileSync(join(head, 'whitelist', 'team.yaml'), rule(huge));
    const d = JSON.parse((await runCli(['policy', 'diff', dir, head, '--json'])).stdout);
    expect(d.level).toBe('major');
    expect(d.changes[0].message).toMatch(/has too many forms to compare with the old one: review it as broadened/);
  });

  it('who may approve is reviewed like the whitelist: more reviewers, new keys or fewer approvals are major', async () => {
    const diff = async (a: string, b: string) =>
      JSON.parse((await runCli(['policy', 'diff', a, b, '--json'])).stdout) as {
        level: string;
        changes: { level: string; kind: string; id: string; change: string }[];
      };
    const base = reviewPolicyDir([REVIEWER_A], { 'review.approvals': { high: 2 } });
    const added = await diff(base, reviewPolicyDir([REVIEWER_A, REVIEWER_B], { 'review.approvals': { high: 2 } }));
    expect(added.level).toBe('major');
    expect(added.changes).toEqual([
      expect.objectContaining({ level: 'major', kind: 'reviewer', id: 'bob', change: 'added' }),
    ]);
    const rekeyed = await diff(
      base,
      reviewPolicyDir([{ id: 'alice', keyOf: 'alice-new' }], { 'review.approvals': { high: 2 } }),
    );
    expect(rekeyed.changes).toEqual([expect.objectContaining({ level: 'major', id: 'alice', change: 'key-changed' })]);
    const fewer = await diff(base, reviewPolicyDir([REVIEWER_A]));
    expect(fewer.changes.map((c) => `${c.level} ${c.id} ${c.change}`)).toEqual([
      'major review.approvals.high loosened',
      'major review.approvals.critical loosened',
    ]);
    const removed = await diff(reviewPolicyDir([REVIEWER_A, REVIEWER_B], { 'review.approvals': { high: 2 } }), base);
    expect(removed).toMatchObject({ level: 'minor', changes: [{ kind: 'reviewer', id: 'bob', change: 'removed' }] });
  });

  it('fails closed with one clear line on a bad ref or an invalid version', async () => {
    const { policies } = await repoWithPolicy();
    const r = await runCli(['policy', 'diff', 'no-such-branch', '--policy', policies]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^policy-gate: error: no commit "no-such-branch" in /);
    writeFileSync(join(policies, 'gate.yaml'), 'levels: [');
    const bad = await runCli(['policy', 'diff', 'HEAD', '--policy', policies]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/working tree: YAML/);
  });
});
