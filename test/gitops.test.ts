/**
 * GitOps whitelists on real Git repositories: provenance of every whitelisted decision (the
 * commit, its author, its reviewers, the merge), review enforcement (reachable from the
 * protected ref, unchanged, signed), and the pull-request flow — init, propose, lint, diff,
 * merge, and the next identical command whitelisted with provenance naming the merge.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  assess,
  loadPolicy,
  openSqliteStore,
  type AuditStore,
  type CommandRecord,
  type Policy,
} from '../engine/index.js';
import { ALICE, BOB, CAROL, DANA, GitRepo, policyRepo, who } from './git-fixture.js';
import { NOON, runBin, runCli, tempDir } from './helpers.js';
import { keyFor } from './review-fixture.js';

const NOW = '2026-11-26T12:00:00Z';

const HUGO_RULE = `
  - id: hugo.build
    owner: bob@example.com
    reason: builds the documentation site
    pattern: hugo [--minify]
    examples:
      match: [hugo, hugo --minify]
      no_match: [hugo server, hugo --minify --baseURL http://x]
`;

function teamFile(rules: string): string {
  return `# yaml-language-server: $schema=../schema/whitelist.schema.json\nwhitelist:${rules}`;
}

/** Bob adds the hugo rule on a branch (reviewed by Carol); Dana merges it into main. */
function addHugoThroughReview(repo: GitRepo): { change: string; merge: string } {
  repo.git('checkout', '--quiet', '-b', 'wl/hugo');
  repo.write('policies/whitelist/team.yaml', teamFile(HUGO_RULE));
  const change = repo.commit(BOB, `whitelist: add hugo.build\n\nReviewed-by: ${who(CAROL)}\n`);
  repo.git('checkout', '--quiet', 'main');
  const merge = repo.merge('wl/hugo', DANA);
  repo.push();
  return { change, merge };
}

const load = (repo: GitRepo): Promise<Policy> =>
  loadPolicy(join(repo.root, 'policies'), { cacheDir: tempDir('policy-gate-cache-') });
const judge = (policy: Policy, cmd: string) => assess(cmd, policy, { now: NOON, history: null });

async function approvedRecord(store: AuditStore, id: string, reviewer: string): Promise<void> {
  await store.decide({
    type: 'DECIDED',
    command_id: id,
    decision: 'approved',
    decided_by: reviewer,
    decided_at: new Date().toISOString(),
    review_latency_ms: 1200,
    policy_revision: 'x',
    submitted_leaf: '00',
    reason: 'looks fine',
    whitelist_provenance: [],
  });
}

async function checkJson(
  repo: GitRepo,
  store: string,
  cmd: string,
  extra: string[] = [],
): Promise<{ code: number; record: CommandRecord & Record<string, unknown>; stderr: string }> {
  const r = await runCli(
    [
      'check',
      '--json',
      '--no-wait',
      '--now',
      NOW,
      '--policy',
      join(repo.root, 'policies'),
      '--store',
      store,
      ...extra,
      '--',
      cmd,
    ],
    { cwd: repo.root },
  );
  return { code: r.code, record: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

describe('provenance from a real Git repository', () => {
  let repo: GitRepo;
  let merged: { change: string; merge: string };
  beforeEach(async () => {
    repo = await policyRepo();
    merged = addHugoThroughReview(repo);
  });

  it('names the commit that changed the rule, its author and date, the reviewers from trailers and the merge', async () => {
    const policy = await load(repo);
    expect(policy.revision).toBe(repo.head());
    const a = judge(policy, 'hugo --minify');
    expect(a.would_decide).toBe('whitelisted');
    expect(a.decided_by).toBe('whitelist_rule:hugo.build');
    expect(a.whitelist_provenance).toEqual([
      {
        rule_id: 'hugo.build',
        file: 'policies/whitelist/team.yaml',
        commit: merged.change,
        author: who(BOB),
        committed_at: expect.stringMatching(/^2026-11-\d\dT\d\d:00:00/),
        reviewed_by: [who(CAROL), who(DANA)],
        reviewed_at: expect.any(String),
        merge_commit: merged.merge,
        merged_by: who(DANA),
      },
    ]);
    // the shipped rules came in Alice's initial commit, straight on main: no merge
    const b = judge(policy, 'git status');
    expect(b.whitelist_provenance[0]).toMatchObject({
      rule_id: 'git.status',
      author: who(ALICE),
      merge_commit: null,
      reviewed_by: [],
    });
  });

  it('blame is per rule: a later change to another rule in the same file does not move this one', async () => {
    repo.git('checkout', '--quiet', '-b', 'wl/more');
    repo.write(
      'policies/whitelist/team.yaml',
      `${teamFile(HUGO_RULE)}  - id: tf.fmt\n` +
        `    owner: carol@example.com\n` +
        `    reason: formatting check only\n` +
        `    pattern: terraform fmt -check\n` +
        `    examples:\n` +
        `      match: [terraform fmt -check]\n`,
    );
    const second = repo.commit(CAROL, `whitelist: add tf.fmt\n\nApproved-by: ${who(ALICE)}\n`);
    repo.git('checkout', '--quiet', 'main');
    repo.merge('wl/more', DANA);
    repo.push();
    const policy = await load(repo);
    expect(judge(policy, 'hugo').whitelist_provenance[0]).toMatchObject({ commit: merged.change, author: who(BOB) });
    expect(judge(policy, 'terraform fmt -check').whitelist_provenance[0]).toMatchObject({
      commit: second,
      author: who(CAROL),
      reviewed_by: [who(ALICE), who(DANA)],
    });
    // a command covered by two rules names both, each with its own provenance
    const both = judge(policy, 'hugo && terraform fmt -check');
    expect(both.decided_by).toBe('whitelist_rule:hugo.build+tf.fmt');
    expect(both.whitelist_provenance.map((p) => [p.rule_id, p.commit])).toEqual([
      ['hugo.build', merged.change],
      ['tf.fmt', second],
    ]);
  });

  it('check --json and the DECIDED event carry whitelist_provenance and policy_revision = HEAD', async () => {
    const store = join(tempDir(), 'audit.db');
    const { code, record } = await checkJson(repo, store, 'hugo --minify');
    expect(code).toBe(0);
    expect(record.decided_by).toBe('whitelist_rule:hugo.build');
    expect(record.policy_revision).toBe(repo.head());
    expect(record.whitelist_provenance).toMatchObject([
      { rule_id: 'hugo.build', commit: merged.change, merge_commit: merged.merge },
    ]);
    const s = openSqliteStore(store, { readonly: true });
    const decided = (await s.events()).find((e) => e.type === 'DECIDED')!;
    expect(decided.body).toMatchObject({
      decided_by: 'whitelist_rule:hugo.build',
      policy_revision: repo.head(),
      whitelist_provenance: [{ rule_id: 'hugo.build', commit: merged.change, reviewed_by: [who(CAROL), who(DANA)] }],
    });
    await s.close();
  });

  it('a warm check starts no git: provenance comes from the cache (git is not even on PATH)', async () => {
    const cwd = tempDir();
    const args = ['check', '--json', '--no-wait', '--now', NOW, '--policy', join(repo.root, 'policies'), '--', 'hugo'];
    const cold = await runBin(args, { cwd });
    expect(cold.code, cold.stderr).toBe(0);
    const warm = await runBin(args, { cwd, env: { PATH: '/nonexistent' } });
    expect(warm.code, warm.stderr).toBe(0);
    const record = JSON.parse(warm.stdout);
    expect(record.whitelist_provenance).toMatchObject([
      { rule_id: 'hugo.build', commit: merged.change, merge_commit: merged.merge },
    ]);
    expect(record.policy_revision).toBe(repo.head());
  });
});

describe('review enforcement (gitops.require_reviewed, as init sets it)', () => {
  let repo: GitRepo;
  beforeEach(async () => {
    repo = await policyRepo();
    addHugoThroughReview(repo);
  });

  it('a dirty working tree: the revision says -dirty and the changed file is not used, with the reason recorded', async () => {
    // a change elsewhere in the file: the rule's lines are committed, the file is not
    repo.write('policies/whitelist/team.yaml', `# local note\n${repo.read('policies/whitelist/team.yaml')}`);
    const policy = await load(repo);
    expect(policy.revision).toBe(`${repo.head()}-dirty`);
    const a = judge(policy, 'hugo --minify');
    expect(a.would_decide).toBe('pending');
    expect(a.whitelist_refused).toEqual([
      { rule_id: 'hugo.build', segment: 0, reason: 'its file has uncommitted changes' },
    ]);
    // rules in untouched files still apply
    expect(judge(policy, 'git status').would_decide).toBe('whitelisted');
    // a change to the rule itself
    repo.write(
      'policies/whitelist/team.yaml',
      repo.read('policies/whitelist/team.yaml').replace('builds the documentation site', 'builds the docs'),
    );
    expect(judge(await load(repo), 'hugo').whitelist_refused).toEqual([
      { rule_id: 'hugo.build', segment: 0, reason: 'the rule has uncommitted changes' },
    ]);

    const store = join(tempDir(), 'audit.db');
    const { code, record } = await checkJson(repo, store, 'hugo --minify');
    expect(code).toBe(3);
    expect(record.policy_revision).toBe(`${repo.head()}-dirty`);
    const s = openSqliteStore(store, { readonly: true });
    const submitted = (await s.events()).find((e) => e.type === 'SUBMITTED')!;
    expect(submitted.body).toMatchObject({
      whitelist_refused: [{ rule_id: 'hugo.build', reason: 'the rule has uncommitted changes' }],
    });
    await s.close();
  });

  it('reviewers count only as merged into the protected ref: a key added in the working tree grants nothing', async () => {
    const entry = (id: string) => `  - id: ${id}\n    name: ${id}\n    roles: [reviewer]\n    key: ${keyFor(id).pub}\n`;
    repo.write('policies/reviewers.yaml', `reviewers:\n${entry('alice')}`);
    repo.commit(ALICE, 'reviewers: alice');
    repo.push();
    repo.write('policies/reviewers.yaml', `reviewers:\n${entry('alice')}${entry('bob')}`);
    const store = join(tempDir(), 'audit.db');
    const policyDir = join(repo.root, 'policies');
    const submitted = await runCli(
      ['check', '--json', '--no-wait', '--policy', policyDir, '--store', store, '--', 'npm publish'],
      { cwd: repo.root },
    );
    expect(submitted.code, submitted.stderr).toBe(3);
    const id = JSON.parse(submitted.stdout).command_id as string;
    const approve = (reviewer: string) =>
      runCli(
        [
          'review',
          'approve',
          id,
          '--reviewer',
          reviewer,
          '--key',
          keyFor(reviewer).file,
          '--policy',
          policyDir,
          '--store',
          store,
        ],
        { cwd: repo.root },
      );
    const bob = await approve('bob');
    expect(bob.code).toBe(1);
    expect(bob.stderr).toMatch(
      /refused \(unknown-reviewer\): "bob" is not a reviewer in reviewers\.yaml at origin\/main/,
    );
    const alice = await approve('alice');
    expect(alice.code, alice.stderr).toBe(0);
    expect(alice.stdout).toMatch(/^approved \S+ by alice/);
  });

  it('a rule changed after review (committed, not merged into origin/main) is not used', async () => {
    repo.write(
      'policies/whitelist/team.yaml',
      teamFile(HUGO_RULE.replace('hugo [--minify]', 'hugo [--minify] [--gc]')),
    );
    repo.commit(BOB, 'whitelist: also hugo --gc');
    const policy = await load(repo);
    expect(policy.revision).toBe(repo.head());
    const a = judge(policy, 'hugo --minify');
    expect(a.would_decide).toBe('pending');
    expect(a.whitelist_refused[0]).toMatchObject({
      rule_id: 'hugo.build',
      reason: 'its commit is not reachable from origin/main (not reviewed and merged)',
    });
    // pushed (merged) it is used
    repo.push();
    expect(judge(await load(repo), 'hugo --gc').would_decide).toBe('whitelisted');
  });

  it('a rule loosened by deleting a line (its scope) in an unmerged commit is not used, and provenance names that commit', async () => {
    const scoped =
      '\n' +
      '  - id: hugo.serve\n' +
      '    owner: bob@example.com\n' +
      '    reason: live preview for the docs bot\n' +
      '    pattern: hugo server\n' +
      '    agents: [docs-bot]\n' +
      '    examples:\n' +
      '      match: [hugo server]\n';
    repo.git('checkout', '--quiet', '-b', 'wl/serve');
    repo.write('policies/whitelist/serve.yaml', teamFile(scoped));
    repo.commit(BOB, 'whitelist: hugo server for the docs bot');
    repo.git('checkout', '--quiet', 'main');
    repo.merge('wl/serve', DANA);
    repo.push();
    const before = await load(repo);
    expect(assess('hugo server', before, { now: NOON, history: null, agent: 'docs-bot' }).would_decide).toBe(
      'whitelisted',
    );
    expect(judge(before, 'hugo server').would_decide).toBe('pending'); // another agent: out of scope
    // the scope line is deleted in a local commit: blame of the remaining lines still names the reviewed commit
    repo.write('policies/whitelist/serve.yaml', teamFile(scoped.replace('    agents: [docs-bot]\n', '')));
    const loosened = repo.commit(BOB, 'whitelist: hugo server for everyone');
    const policy = await load(repo);
    const a = judge(policy, 'hugo server');
    expect(a.would_decide).toBe('pending');
    expect(a.whitelist_refused).toEqual([
      {
        rule_id: 'hugo.serve',
        segment: 0,
        reason: 'its commit is not reachable from origin/main (not reviewed and merged)',
      },
    ]);
    expect(policy.provenance?.rules['hugo.serve']).toMatchObject({
      commit: loosened,
      author: who(BOB),
      merge_commit: null,
    });
  });

  it('a rule reverted to an older reviewed text that the protected ref no longer has is not used', async () => {
    // main narrows hugo.build to one agent through review; a local commit restores the old, broader text
    repo.git('checkout', '--quiet', '-b', 'wl/narrow');
    repo.write(
      'policies/whitelist/team.yaml',
      teamFile(
        HUGO_RULE.replace('    pattern: hugo [--minify]\n', '    pattern: hugo [--minify]\n    agents: [docs-bot]\n'),
      ),
    );
    repo.commit(CAROL, 'whitelist: hugo.build only for the docs bot');
    repo.git('checkout', '--quiet', 'main');
    repo.merge('wl/narrow', DANA);
    repo.push();
    repo.write('policies/whitelist/team.yaml', teamFile(HUGO_RULE));
    repo.commit(BOB, 'whitelist: hugo.build for everyone again');
    const a = judge(await load(repo), 'hugo');
    expect(a.would_decide).toBe('pending');
    expect(a.whitelist_refused).toEqual([
      {
        rule_id: 'hugo.build',
        segment: 0,
        reason: 'it differs from its version in origin/main (the change is not reviewed and merged)',
      },
    ]);
  });

  it('an uncommitted rule is not used; without require_reviewed it is, and its provenance says it is uncommitted', async () => {
    repo.write(
      'policies/whitelist/local.yaml',
      teamFile(
        '\n' +
          '  - id: hugo.local\n' +
          '    owner: me\n' +
          '    reason: version check\n' +
          '    pattern: hugo version\n' +
          '    examples:\n' +
          '      match: [hugo version]\n',
      ),
    );
    const enforced = await load(repo);
    expect(judge(enforced, 'hugo version').whitelist_refused[0]).toMatchObject({
      rule_id: 'hugo.local',
      reason: 'the rule has uncommitted changes',
    });
    repo.write(
      'policies/gate.yaml',
      repo.read('policies/gate.yaml').replace('require_reviewed: true', 'require_reviewed: false'),
    );
    const relaxed = judge(await load(repo), 'hugo version');
    expect(relaxed.would_decide).toBe('whitelisted');
    expect(relaxed.whitelist_provenance).toEqual([
      {
        rule_id: 'hugo.local',
        file: 'whitelist/local.yaml',
        commit: null,
        author: null,
        committed_at: null,
        reviewed_by: [],
        reviewed_at: null,
        merge_commit: null,
        merged_by: null,
      },
    ]);
    // --require-reviewed turns enforcement on from the command line
    const store = join(tempDir(), 'audit.db');
    expect((await checkJson(repo, store, 'hugo version')).code).toBe(0);
    expect((await checkJson(repo, store, 'hugo version', ['--require-reviewed'])).code).toBe(3);
  });

  it('a missing protected ref refuses every rule, naming the ref', async () => {
    repo.write(
      'policies/gate.yaml',
      repo.read('policies/gate.yaml').replace('protected_ref: origin/main', 'protected_ref: origin/release'),
    );
    repo.commit(ALICE, 'gate: protect release');
    repo.push();
    const a = judge(await load(repo), 'git status');
    expect(a.would_decide).toBe('pending');
    expect(a.whitelist_refused[0]!.reason).toBe('the protected ref origin/release does not exist');
  });

  it('require_signed: an unsigned commit is refused, a commit with a verified SSH signature is used', async () => {
    repo.write(
      'policies/gate.yaml',
      repo.read('policies/gate.yaml').replace('require_signed: false', 'require_signed: true'),
    );
    repo.commit(ALICE, 'gate: require signed whitelist commits');
    repo.push();
    const unsigned = judge(await load(repo), 'hugo --minify');
    expect(unsigned.would_decide).toBe('pending');
    expect(unsigned.whitelist_refused[0]).toMatchObject({
      rule_id: 'hugo.build',
      reason: 'its commit has no verified signature',
    });

    repo.trustSigningKey(DANA);
    repo.git('checkout', '--quiet', '-b', 'wl/hugo-signed');
    repo.write(
      'policies/whitelist/team.yaml',
      teamFile(HUGO_RULE.replace('builds the documentation site', 'builds the documentation site (signed)')),
    );
    repo.commit(BOB, 'whitelist: hugo.build, signed');
    repo.git('checkout', '--quiet', 'main');
    const merge = repo.merge('wl/hugo-signed', DANA, { sign: true });
    repo.push();
    const signed = judge(await load(repo), 'hugo --minify');
    expect(signed.would_decide).toBe('whitelisted');
    expect(signed.whitelist_provenance[0]).toMatchObject({ merge_commit: merge, merged_by: who(DANA) });
  });

  it('an expired rule never matches, even reviewed, and lint reports it (PG104) with file:line', async () => {
    repo.git('checkout', '--quiet', '-b', 'wl/old');
    repo.write('policies/whitelist/team.yaml', teamFile(`${HUGO_RULE}    expires: 2026-01-31\n`));
    repo.commit(BOB, 'whitelist: hugo until January');
    repo.git('checkout', '--quiet', 'main');
    repo.merge('wl/old', DANA);
    repo.push();
    const policy = await load(repo);
    expect(assess('hugo', policy, { now: new Date('2026-01-31T23:00:00Z'), history: null }).would_decide).toBe(
      'whitelisted',
    );
    const after = assess('hugo', policy, { now: new Date('2026-02-01T00:00:01Z'), history: null });
    expect(after.would_decide).toBe('pending');
    expect(after.whitelist_refused).toEqual([]);
    const lint = await runCli(['policy', 'lint', '--policy', join(repo.root, 'policies')]);
    expect(lint.code).toBe(2);
    expect(lint.stdout).toMatch(/^whitelist\/team\.yaml:3: PG104 hugo\.build: expired on 2026-01-31/m);
  });
});

describe('the pull-request flow, end to end', () => {
  it(
    'propose → branch → lint and diff in CI → merge → ' +
      'the next identical command is whitelisted with provenance naming the merge',
    async () => {
      const repo = await policyRepo();
      const policies = join(repo.root, 'policies');
      const store = join(tempDir(), 'audit.db');

      // 1. the agent asks; nothing covers it; a reviewer approves it. An earlier identical
      //    attempt was denied by a reviewer: the replay must show it.
      const earlier = await checkJson(repo, store, 'hugo --minify');
      const first = await checkJson(repo, store, 'hugo --minify');
      expect(first.code).toBe(3);
      const s = openSqliteStore(store);
      await s.decide({
        type: 'DECIDED',
        command_id: earlier.record.command_id,
        decision: 'denied',
        decided_by: 'carol',
        decided_at: new Date().toISOString(),
        review_latency_ms: 900,
        policy_revision: 'x',
        submitted_leaf: '00',
        reason: 'not now',
        whitelist_provenance: [],
      });
      await approvedRecord(s, first.record.command_id, 'alice');
      await s.close();

      // 2. propose the rule on a branch: the work tree and main are untouched
      const before = repo.head();
      const proposed = await runCli(
        [
          'whitelist',
          'propose',
          first.record.command_id,
          '--policy',
          policies,
          '--store',
          store,
          '--owner',
          'bob@example.com',
          '--branch',
          'wl/hugo',
          '--json',
        ],
        { cwd: repo.root },
      );
      expect(proposed.code, proposed.stderr).toBe(0);
      const out = JSON.parse(proposed.stdout);
      expect(out.rules).toEqual([
        expect.objectContaining({
          id: 'hugo.minify',
          owner: 'bob@example.com',
          pattern: 'hugo --minify',
          examples: { match: ['hugo --minify'], no_match: ['hugo --minify --unexpected-extra-argument'] },
        }),
      ]);
      expect(out.replay).toEqual([
        expect.objectContaining({ command_id: earlier.record.command_id, decision: 'denied', rules: ['hugo.minify'] }),
      ]);
      expect(out.branch.name).toBe('wl/hugo');
      expect(repo.head()).toBe(before);
      expect(repo.git('status', '--porcelain')).toBe('');
      expect(repo.git('show', 'wl/hugo:policies/whitelist/proposed.yaml')).toContain('pattern: hugo --minify');

      // 3. CI on the pull request: lint and test pass, diff says minor (a whitelist rule added)
      repo.git('checkout', '--quiet', 'wl/hugo');
      expect((await runCli(['policy', 'lint', '--policy', policies])).code).toBe(0);
      expect((await runCli(['policy', 'test', '--policy', policies])).code).toBe(0);
      const diff = await runCli([
        'policy',
        'diff',
        'origin/main',
        'HEAD',
        '--policy',
        policies,
        '--store',
        store,
        '--since',
        '2026-01-01T00:00:00Z',
        '--json',
        '--fail-on',
        'major',
      ]);
      expect(diff.code, diff.stderr).toBe(0);
      const d = JSON.parse(diff.stdout);
      expect(d.level).toBe('minor');
      expect(d.changes).toEqual([
        expect.objectContaining({ level: 'minor', kind: 'whitelist', id: 'hugo.minify', change: 'added' }),
      ]);
      expect(d.decisions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            source: 'audit',
            ref: first.record.command_id,
            before: expect.objectContaining({ decision: 'pending' }),
            after: expect.objectContaining({ decision: 'whitelisted' }),
            direction: 'looser',
          }),
        ]),
      );

      // 4. merge with a review; the next identical command is whitelisted, naming the merge
      repo.git('checkout', '--quiet', 'main');
      const merge = repo.merge('wl/hugo', DANA);
      repo.push();
      const next = await checkJson(repo, store, 'hugo --minify');
      expect(next.code).toBe(0);
      expect(next.record.decided_by).toBe('whitelist_rule:hugo.minify');
      expect(next.record.whitelist_provenance).toMatchObject([
        {
          rule_id: 'hugo.minify',
          commit: out.branch.commit,
          merge_commit: merge,
          merged_by: who(DANA),
          reviewed_by: [who(DANA)],
        },
      ]);
      expect(next.record.policy_revision).toBe(merge);
    },
  );

  it('--write adds the rule to the work tree file, keeping what is there', async () => {
    const repo = await policyRepo();
    const policies = join(repo.root, 'policies');
    repo.write(
      'policies/whitelist/proposed.yaml',
      `# team rules: keep this comment\n${teamFile(HUGO_RULE).split('\n').slice(1).join('\n')}`,
    );
    const store = join(tempDir(), 'audit.db');
    const first = await checkJson(repo, store, 'terraform fmt -check -recursive');
    const s = openSqliteStore(store);
    await approvedRecord(s, first.record.command_id, 'alice');
    await s.close();
    const r = await runCli(
      [
        'whitelist',
        'propose',
        first.record.command_id,
        '--policy',
        policies,
        '--store',
        store,
        '--owner',
        'ops@example.com',
        '--write',
      ],
      { cwd: repo.root },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('pattern: terraform fmt -check -recursive');
    expect(r.stdout).toContain('replay: no recorded command would have been whitelisted by it');
    const text = repo.read('policies/whitelist/proposed.yaml');
    expect(text).toMatch(/^# team rules: keep this comment/);
    expect(text).toContain('id: hugo.build');
    expect(text).toContain('id: terraform.fmt-check-recursive');
    // the written rule loads and lints clean, and covers the command (outside review enforcement)
    expect((await runCli(['policy', 'lint', '--policy', policies])).code).toBe(0);
  });
});

describe('whitelist propose refuses what a reviewer should see each time', () => {
  async function proposeFor(cmd: string, extra: string[] = [], decision: 'approved' | 'denied' = 'approved') {
    const dir = tempDir();
    const store = join(dir, '.policy-gate', 'audit.db');
    const c = await runCli(['check', '--json', '--no-wait', '--now', NOW, '--store', store, '--', cmd], { cwd: dir });
    const { command_id } = JSON.parse(c.stdout);
    const s = openSqliteStore(store);
    if (decision === 'approved') await approvedRecord(s, command_id, 'alice');
    else
      await s.decide({
        type: 'DECIDED',
        command_id,
        decision,
        decided_by: 'alice',
        decided_at: new Date().toISOString(),
        review_latency_ms: 1,
        policy_revision: 'x',
        submitted_leaf: '00',
        reason: null,
        whitelist_provenance: [],
      });
    await s.close();
    return runCli(['whitelist', 'propose', command_id, '--store', store, '--owner', 'x@example.com', ...extra], {
      cwd: dir,
    });
  }

  it.each([
    ['a bare interpreter', 'python3 tools/gen.py', /python3 is a shell or interpreter/],
    ['a shell with -c', "bash -c 'make docs'", /bash is a shell or interpreter/],
    ['sudo', 'sudo apt-get update', /runs with other privileges/],
    ['env', 'env FOO=1 hugo', /env.* wraps the command|env runs other commands/],
    ['xargs', 'xargs -n1 echo < list.txt', /a rule never covers xargs/],
    ['an assignment', 'HUGO_ENV=prod hugo', /sets HUGO_ENV/],
    // `rm -rf build` (in the project) is whitelisted already: a reviewer approved this one
    [
      'a program that deletes, with no argument fixed',
      'rm -rf ../build',
      /rm can delete, upload or execute: keep at least one argument fixed/,
      ['--generalize', '1=flags:-rf', '--generalize', '2=path'],
    ],
    [
      'a rule that would cover a non-waivable attack',
      'rm -rf ../build',
      /would also cover "rm -rf \/".*non-waivable/,
      ['--generalize', '2=path'],
    ],
    ['a run-time argument', 'hugo --destination "$OUT"', /only known at run time/],
  ])('refuses %s', async (_name, cmd, message, extra = []) => {
    const r = await proposeFor(cmd, extra);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to propose: /);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('never writes into the shipped policies', async () => {
    const r = await proposeFor('hugo --minify', ['--write']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--write and --branch change a policy repository: pass --policy DIR/);
  });

  it('refuses a command that was not approved by a reviewer', async () => {
    const r = await proposeFor('hugo --minify', [], 'denied');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/was denied by alice, not approved by a reviewer/);
  });

  it('generalizes only what is asked, with typed placeholders', async () => {
    const r = await proposeFor('terraform fmt -check modules/net', ['--generalize', '3=path:project', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rules[0]).toMatchObject({
      id: 'terraform.fmt-check',
      pattern: 'terraform fmt -check <path:project>',
    });
  });

  it('one rule per uncovered segment, naming the pipe it sits in', async () => {
    const r = await proposeFor('git log --oneline | hugo-lint --stdin', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rules).toEqual([
      expect.objectContaining({ pattern: 'hugo-lint --stdin', pipes: ['in'] }),
    ]);
  });
});

describe('init', () => {
  it('scaffolds policies, a starter whitelist, tests, CODEOWNERS and the policy workflow; the result lints clean', async () => {
    const dir = tempDir();
    const r = await runCli(['init', dir, '--owner', '@acme/security', '--owner', 'lead@acme.example'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    for (const f of [
      'policies/gate.yaml',
      'policies/rules/destruction.yaml',
      'policies/whitelist/git.yaml',
      'policies/tests/regressions.yaml',
      'policies/schema/whitelist.schema.json',
      '.github/CODEOWNERS',
      '.github/workflows/policy.yml',
      'README.md',
      '.gitignore',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const gate = readFileSync(join(dir, 'policies/gate.yaml'), 'utf8');
    expect(gate).toMatch(
      /^gitops:\n {2}require_reviewed: true\n {2}protected_ref: origin\/main\n {2}require_signed: false$/m,
    );
    expect(readFileSync(join(dir, '.github/CODEOWNERS'), 'utf8')).toContain(
      '/policies/whitelist/ @acme/security lead@acme.example',
    );
    const workflow = readFileSync(join(dir, '.github/workflows/policy.yml'), 'utf8');
    expect(workflow).toContain('on:\n  pull_request:');
    expect(workflow).toContain('fetch-depth: 0');
    for (const step of [
      'policy-gate policy lint --policy policies',
      'policy-gate policy test --policy policies',
      'policy-gate policy diff "origin/${{ github.base_ref }}" HEAD --policy policies',
    ])
      expect(workflow).toContain(step);
    // no install source given: the workflow's install step fails until one is set, and init says so
    expect(workflow).toContain('POLICY_GATE_SOURCE: ""');
    expect(r.stdout).toContain('set POLICY_GATE_SOURCE in .github/workflows/policy.yml');
    expect((await runCli(['policy', 'lint', '--policy', join(dir, 'policies')])).code).toBe(0);
    expect((await runCli(['policy', 'test', '--policy', join(dir, 'policies')])).code).toBe(0);
  });

  it('never overwrites a file unless --force', async () => {
    const dir = tempDir();
    expect((await runCli(['init', dir])).code).toBe(0);
    const mine = '# my gate\n';
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'policies/gate.yaml'), mine);
    const again = await runCli(['init', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/file\(s\) already exist in .*, first /);
    expect(readFileSync(join(dir, 'policies/gate.yaml'), 'utf8')).toBe(mine);
    expect((await runCli(['init', dir, '--force'])).code).toBe(0);
    expect(readFileSync(join(dir, 'policies/gate.yaml'), 'utf8')).toContain('require_reviewed: true');
  });
});
