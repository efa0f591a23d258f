/**
 * A policy repository owned by another OS user than the one the gate runs as — the separation
 * the README recommends, so that the agent cannot write the policy. Git refuses such a
 * repository ("dubious ownership") unless it is in safe.directory; the gate lists exactly the
 * policy repository's top level for its own git runs, and runs no git anywhere else.
 *
 * Real users, real git: the tests chown and switch users, so they need root (CI runs as root),
 * and the two-user set-up needs setpriv (util-linux) and a build the other user can read.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALICE, GitRepo, policyRepo } from './git-fixture.js';
import { BIN, ROOT, runBin, runCli, tempDir, type CliResult } from './helpers.js';

/** The other user: `nobody` on Debian and most distributions. */
const OTHER = 65534;
const NOW = '2026-11-26T12:00:00Z';
const isRoot = process.getuid?.() === 0;
/** Real processes and real git, on two shared cores. */
const SLOW = 120_000;

function which(tool: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Why the gate cannot be run as OTHER here, or null when it can. */
function twoUserObstacle(): string | null {
  if (!isRoot) return 'not root: cannot switch to another user';
  if (!which('setpriv')) return 'setpriv (util-linux) is not installed';
  // the build and its dependencies are read from the checkout: OTHER must reach them
  const r = spawnSync(
    'setpriv',
    [
      `--reuid=${OTHER}`,
      `--regid=${OTHER}`,
      '--clear-groups',
      process.execPath,
      '-e',
      `require('fs').accessSync(${JSON.stringify(BIN)}); require(${JSON.stringify(join(ROOT, 'node_modules', 'yaml'))})`,
    ],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? null : `user ${OTHER} cannot read the build in ${ROOT} (${r.stderr.trim().split('\n')[0]})`;
}
const obstacle = twoUserObstacle();

/** `chown -R`, as root. */
function chownTree(path: string, uid: number): void {
  execFileSync('chown', ['-R', `${uid}:${uid}`, path]);
}

interface Checked {
  code: number;
  stderr: string;
  record: {
    decision: string;
    decided_by: string;
    policy_revision: string;
    whitelist_provenance: { rule_id: string; commit: string }[];
  } | null;
}

const parsed = (r: CliResult): Checked => ({
  code: r.code,
  stderr: r.stderr,
  record: r.stdout ? JSON.parse(r.stdout) : null,
});

/** `check --json` in a real process, with no Git configuration but what the gate passes itself. */
async function check(policy: string, cmd: string, options: { cwd?: string; path?: string } = {}): Promise<Checked> {
  const home = tempDir('policy-gate-home-');
  const env: Record<string, string> = { HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
  if (options.path) env.PATH = options.path;
  const store = join(tempDir('policy-gate-store-'), 'audit.db');
  return parsed(
    await runBin(['check', '--json', '--no-wait', '--now', NOW, '--policy', policy, '--store', store, '--', cmd], {
      env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    }),
  );
}

describe.skipIf(!isRoot)(
  `a policy repository owned by another user${isRoot ? '' : ' (skipped: not root, so files cannot be given to another user)'}`,
  () => {
    it(
      'check works on a policy repository owned by another user (git: "dubious ownership"), with provenance and review enforcement',
      async () => {
        const repo = await policyRepo();
        const head = repo.head();
        chownTree(repo.root, OTHER);
        const r = await check(join(repo.root, 'policies'), 'git status');
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(/dubious ownership/);
        expect(r.record!.decision).toBe('whitelisted');
        expect(r.record!.decided_by).toBe('whitelist_rule:git.status');
        expect(r.record!.policy_revision).toBe(head);
        expect(r.record!.whitelist_provenance).toEqual([
          expect.objectContaining({ rule_id: 'git.status', commit: head }),
        ]);
      },
      SLOW,
    );

    it(
      "safe.directory names exactly the policy repository's real top level (the policy reached through a symlink), " +
        "and no git runs in the agent's repository",
      async () => {
        const repo = await policyRepo();
        // a scoped rule: the agent's repository is identified from its layout, never by running git there
        repo.write(
          'policies/whitelist/team.yaml',
          `whitelist:
  - id: team.hugo
    owner: platform-team
    reason: builds the acme site
    pattern: hugo [--minify]
    repos: ["github.com/acme/site"]
    examples: { match: [hugo], no_match: [hugo server] }
`,
        );
        repo.commit(ALICE, 'whitelist: hugo for the site');
        repo.push();
        chownTree(repo.root, OTHER);

        const agent = GitRepo.create();
        agent.git('remote', 'set-url', 'origin', 'https://github.com/acme/site.git');
        const marker = join(tempDir(), 'fsmonitor-ran');
        agent.git('config', 'core.fsmonitor', `touch ${marker}`);
        chownTree(agent.root, OTHER);

        // every git the gate starts, with its working directory and arguments
        const bin = tempDir('policy-gate-bin-');
        const log = join(bin, 'git.log');
        writeFileSync(
          join(bin, 'git'),
          `#!/bin/sh\nprintf '%s\\037' "$PWD" "$@" >> ${log}\nprintf '\\n' >> ${log}\nexec ${which('git')} "$@"\n`,
          { mode: 0o755 },
        );
        // git compares the real path of the work tree: a safe.directory naming the link would not do
        const link = join(tempDir(), 'policy-link');
        symlinkSync(repo.root, link);

        const r = await check(join(link, 'policies'), 'hugo --minify', {
          cwd: agent.root,
          path: `${bin}:${process.env.PATH}`,
        });
        expect(r.code, r.stderr).toBe(0);
        expect(r.record!.decided_by).toBe('whitelist_rule:team.hugo');

        const runs = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split('\x1f').slice(0, -1));
        expect(runs.length).toBeGreaterThan(0);
        const top = realpathSync(repo.root);
        for (const [cwd, ...args] of runs) {
          expect(realpathSync(cwd!)).toBe(top);
          expect(args.slice(0, 2)).toEqual(['-c', `safe.directory=${top}`]);
          expect(args.slice(2).join(' ')).not.toMatch(/safe\.directory/);
        }
        expect(() => accessSync(marker)).toThrow();
      },
      SLOW,
    );

    it.skipIf(obstacle !== null)(
      'the recommended set-up: the policy owned by root and read-only to others, ' +
        `the gate run as another user who cannot write it${obstacle ? ` (skipped: ${obstacle})` : ''}`,
      async () => {
        const repo = await policyRepo();
        const head = repo.head();
        // root owns the repository; others may read and traverse it, nothing more (the temporary
        // directory holding it is private until opened)
        chmodSync(dirname(repo.root), 0o755);
        execFileSync('chmod', ['-R', 'go-w,go+rX', repo.root]);
        // what the gate's user owns: its store (and cache) and its home
        const own = tempDir('policy-gate-agent-');
        chmodSync(own, 0o755);
        mkdirSync(join(own, 'state'));
        mkdirSync(join(own, 'home'));
        chownSync(own, OTHER, OTHER);
        chownTree(own, OTHER);

        const asOther = (argv: string[], input = ''): { status: number | null; stdout: string; stderr: string } => {
          const r = spawnSync('setpriv', [`--reuid=${OTHER}`, `--regid=${OTHER}`, '--clear-groups', ...argv], {
            cwd: own,
            input,
            encoding: 'utf8',
            env: { PATH: process.env.PATH ?? '', HOME: join(own, 'home'), GIT_CONFIG_NOSYSTEM: '1' },
          });
          return { status: r.status, stdout: r.stdout, stderr: r.stderr };
        };

        const r = asOther(
          [
            process.execPath,
            BIN,
            'check',
            '--json',
            '--no-wait',
            '--now',
            NOW,
            '--policy',
            join(repo.root, 'policies'),
            '--store',
            join(own, 'state', 'audit.db'),
          ],
          'git status',
        );
        expect(r.status, r.stderr).toBe(0);
        const record = JSON.parse(r.stdout) as NonNullable<Checked['record']>;
        expect(record.decision).toBe('whitelisted');
        expect(record.policy_revision).toBe(head);
        expect(record.whitelist_provenance).toEqual([expect.objectContaining({ rule_id: 'git.status', commit: head })]);

        // and that user cannot change the policy: not its files, not its history
        expect(
          asOther(['sh', '-c', `echo '# x' >> ${join(repo.root, 'policies', 'whitelist', 'git.yaml')}`]).status,
        ).not.toBe(0);
        expect(asOther(['sh', '-c', `: > ${join(repo.root, 'policies', 'whitelist', 'mine.yaml')}`]).status).not.toBe(
          0,
        );
        const commit = asOther([
          'git',
          '-c',
          `safe.directory=${realpathSync(repo.root)}`,
          '-c',
          'user.name=Agent',
          '-c',
          'user.email=agent@example.com',
          '-C',
          repo.root,
          'commit',
          '--allow-empty',
          '-m',
          'x',
        ]);
        expect(commit.status).not.toBe(0);
        expect(commit.stderr).toMatch(/Permission denied/);
        expect(repo.head()).toBe(head);
      },
      SLOW,
    );
  },
);
