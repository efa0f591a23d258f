/**
 * `init`: the files of a policy repository that a team owns and changes through pull requests —
 * the shipped policies as a starting point, review enforcement turned on, CODEOWNERS over the
 * whitelist, and a CI workflow that lints, tests and diffs every change.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScaffoldOptions {
  /** The policy directory to copy (the shipped policies). */
  readonly from: string;
  /** Who must review changes to the whitelist (CODEOWNERS syntax: `@org/team`, `@alice`). */
  readonly owners: readonly string[];
  /** The ref whose history counts as reviewed. */
  readonly protectedRef: string;
  /**
   * What CI's `npm install -g` installs policy-gate from: a pinned tarball URL, a Git URL
   * (`git+https://…#COMMIT`) or a registry version. Null: none known yet, and the workflow fails
   * at its install step, saying how to set one, rather than run without the gate.
   */
  readonly gateSource: string | null;
}

export interface ScaffoldFile {
  readonly path: string;
  readonly content: string;
}

const GITOPS = (ref: string): string => `
# Whitelist rules are used only when they come from a commit reachable from the protected ref,
# and the files are unchanged in the working tree: every rule that lets an agent run a command
# without asking went through a reviewed pull request. Set require_signed to also demand a
# verified signature (git verify-commit, SSH or GPG) on the commit that last changed a rule.
gitops:
  require_reviewed: true
  protected_ref: ${ref}
  require_signed: false
`;

/** What the workflow says when it has no install source: a GitHub Actions error annotation (one line). */
const NO_GATE_SOURCE =
  '::error title=policy-gate is not installed::POLICY_GATE_SOURCE is empty: set it in .github/workflows/policy.yml ' +
  'to what npm install -g installs policy-gate from (a pinned tarball URL, git+https://…#COMMIT, a version), ' +
  'or run policy-gate init --gate-source SPEC';

const WORKFLOW = (
  gateSource: string | null,
): string => `# Runs on every pull request that changes the policies: lint (stable codes, file:line), the
# rules' examples and test cases, and a diff against the base branch that classifies the change
# (major / minor / patch) and replays the test cases through both versions.
name: policy
on:
  pull_request:
    paths: ['policies/**', '.github/workflows/policy.yml', '.github/CODEOWNERS']
permissions:
  contents: read
jobs:
  policy:
    runs-on: ubuntu-latest
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: install policy-gate
        env:
          # What npm install -g installs policy-gate from: a pinned tarball URL, git+https://…#COMMIT
          # or a registry version. Empty fails the job rather than skip the checks.
          POLICY_GATE_SOURCE: ${JSON.stringify(gateSource ?? '')}
        run: |
          if [ -z "$POLICY_GATE_SOURCE" ]; then
            echo '${NO_GATE_SOURCE}'
            exit 1
          fi
          # npm install -g of a Git URL does not give the build its dev dependencies (npm/cli#8440);
          # npm pack does, so pack first whatever the source, then install the tarball
          packed="$(mktemp -d)"
          npm pack --pack-destination "$packed" --no-audit --no-fund "$POLICY_GATE_SOURCE"
          npm install -g --no-audit --no-fund "$packed"/*.tgz
          policy-gate --version
      - name: lint
        run: policy-gate policy lint --policy policies
      - name: test
        run: policy-gate policy test --policy policies
      - name: diff
        # the step fails with the diff's own exit code (a pipe into tee would hide it), after the
        # summary is written
        run: |
          set -uo pipefail
          status=0
          policy-gate policy diff "origin/\${{ github.base_ref }}" HEAD --policy policies | tee diff.txt || status=$?
          { echo '### policy diff'; echo '\`\`\`'; cat diff.txt; echo '\`\`\`'; } >> "$GITHUB_STEP_SUMMARY"
          exit "$status"
      # A major change loosens the gate (a rule removed, a score lowered, a whitelist rule
      # broadened …). To demand a second approval for those, fail here and make the check
      # required only for the policy owners' override:
      # - run: policy-gate policy diff "origin/\${{ github.base_ref }}" HEAD --policy policies --fail-on major
`;

const CODEOWNERS = (
  owners: readonly string[],
): string => `# Changes to what agents may run without asking need the policy owners' review. Turn on
# "Require review from Code Owners" in the branch protection of the protected branch.
/policies/ ${owners.join(' ')}
/policies/whitelist/ ${owners.join(' ')}
/policies/reviewers.yaml ${owners.join(' ')}
/.github/CODEOWNERS ${owners.join(' ')}
/.github/workflows/policy.yml ${owners.join(' ')}
`;

const README = (ref: string): string => `# Agent command policy

This repository decides what AI agents may run. policy-gate reads
\`policies/\`:

- \`policies/gate.yaml\`: thresholds, timeouts, and review enforcement (\`gitops\`).
- \`policies/rules/\`: risk rules (destruction, exfiltration, remote code …).
- \`policies/whitelist/\`: commands agents may run without asking. A rule is used only once it
  is merged into \`${ref}\` (\`require_reviewed\`), and every decision it makes records the commit,
  author and reviewers that admitted it.
- \`policies/tests/\`: whole commands and what the gate must make of them.
- \`policies/reviewers.yaml\`: who may approve pending commands, with their OpenSSH ed25519
  public keys. Only the version merged into \`${ref}\` counts: adding a key is granting the power
  to let an agent run a command, so it goes through the same review.

Point the gate at it: \`policy-gate check --policy /path/to/this/repo/policies\` (or
\`POLICY_GATE_POLICY\`).

## Changing the whitelist

1. From a command a reviewer approved: \`policy-gate whitelist propose <command_id> --branch wl/<name>\`
   (add \`--generalize 2=path:project\` for a placeholder). The replay it prints lists recorded
   commands the rule would have let through — read it.
2. Push the branch and open a pull request. CI runs \`policy lint\`, \`policy test\` and
   \`policy diff\`; CODEOWNERS asks the policy owners to review.
3. Merge with a reviewer (add \`Reviewed-by:\` trailers, or merge the pull request). The next
   identical command is whitelisted, and its decision names the rule, the commit and the merge.
`;

function copyTree(from: string, to: string, out: ScaffoldFile[]): void {
  for (const entry of readdirSync(from, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.isDirectory()) copyTree(join(from, entry.name), join(to, entry.name), out);
    else if (/\.(ya?ml|json)$/.test(entry.name))
      out.push({ path: join(to, entry.name), content: readFileSync(join(from, entry.name), 'utf8') });
  }
}

export function scaffold(options: ScaffoldOptions): ScaffoldFile[] {
  const files: ScaffoldFile[] = [];
  copyTree(options.from, 'policies', files);
  const gate = files.find((f) => f.path === join('policies', 'gate.yaml'));
  if (gate) {
    const withoutGitops = gate.content.replace(/\n(#[^\n]*\n)*gitops:\n(?:[ \t]+[^\n]*\n|\n)*/, '\n');
    files[files.indexOf(gate)] = {
      path: gate.path,
      content: `${withoutGitops.trimEnd()}\n${GITOPS(options.protectedRef)}`,
    };
  }
  files.push(
    { path: join('.github', 'CODEOWNERS'), content: CODEOWNERS(options.owners) },
    { path: join('.github', 'workflows', 'policy.yml'), content: WORKFLOW(options.gateSource) },
    { path: 'README.md', content: README(options.protectedRef) },
    { path: '.gitignore', content: '.policy-gate/\n' },
  );
  return files;
}
