/**
 * The CI workflow that `init` writes, its steps run as GitHub Actions runs a `run:` step with no
 * `shell:` (`bash -e {0}`), by real bash, with stub `npm` and `policy-gate` commands on PATH that
 * record what they were asked and exit as told.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, tempDir } from './helpers.js';

interface Workflow {
  jobs: { policy: { steps: { name?: string; run?: string; env?: Record<string, string> }[] } };
}

async function initWorkflow(extra: readonly string[] = []): Promise<Workflow> {
  const dir = tempDir();
  const r = await runCli(['init', dir, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return parse(readFileSync(join(dir, '.github/workflows/policy.yml'), 'utf8')) as Workflow;
}

function step(workflow: Workflow, name: string): { run: string; env: Record<string, string> } {
  const s = workflow.jobs.policy.steps.find((x) => x.name === name);
  if (!s?.run) throw new Error(`no run step named ${name}`);
  return { run: s.run, env: s.env ?? {} };
}

const STUB_NPM = `#!/bin/sh
echo "npm $*" >> "$STUB_LOG"
# npm pack --pack-destination DIR … SPEC leaves a tarball in DIR
if [ "$1" = pack ]; then : > "$3/policy-gate-0.1.0.tgz"; fi
exit "\${STUB_NPM_EXIT:-0}"
`;

const STUB_GATE = `#!/bin/sh
echo "policy-gate $*" >> "$STUB_LOG"
echo "MAJOR whitelist git.status: whitelist rule broadened"
exit "\${STUB_GATE_EXIT:-0}"
`;

interface StepRun {
  code: number | null;
  stdout: string;
  calls: string[];
  summary: string;
}

/** Run a step's script in a fresh working directory, as the runner would, with the stubs first on PATH. */
function runStep(s: { run: string; env: Record<string, string> }, env: Record<string, string> = {}): StepRun {
  const dir = tempDir();
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls.log');
  const summary = join(dir, 'summary.md');
  spawnSync('mkdir', [bin]);
  for (const [name, text] of [
    ['npm', STUB_NPM],
    ['policy-gate', STUB_GATE],
  ] as const) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  // the runner evaluates expressions before the shell sees the script
  const script = join(dir, 'step.sh');
  writeFileSync(script, s.run.replaceAll('${{ github.base_ref }}', 'main'));
  const r = spawnSync('bash', ['-e', script], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      STUB_LOG: log,
      GITHUB_STEP_SUMMARY: summary,
      ...s.env,
      ...env,
    },
  });
  return {
    code: r.status,
    stdout: r.stdout,
    calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [],
    summary: existsSync(summary) ? readFileSync(summary, 'utf8') : '',
  };
}

describe('init --gate-source: how the workflow installs policy-gate', () => {
  it('the configured source is what the install step packs and installs globally', async () => {
    const source = 'https://example.test/releases/policy-gate-0.1.0.tgz';
    const install = step(await initWorkflow(['--gate-source', source]), 'install policy-gate');
    expect(install.env.POLICY_GATE_SOURCE).toBe(source);
    const r = runStep(install);
    expect(r.code, r.stdout).toBe(0);
    expect(r.calls).toEqual([
      expect.stringMatching(new RegExp(`^npm pack --pack-destination (\\S+) --no-audit --no-fund ${source}$`)),
      expect.stringMatching(/^npm install -g --no-audit --no-fund \S+\/policy-gate-0\.1\.0\.tgz$/),
      'policy-gate --version',
    ]);
  });

  it('without a source the install step fails, saying how to set one, and installs nothing', async () => {
    const install = step(await initWorkflow(), 'install policy-gate');
    expect(install.env.POLICY_GATE_SOURCE).toBe('');
    const r = runStep(install);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^::error title=[^:]+::POLICY_GATE_SOURCE is empty: set it in \.github\/workflows\/policy\.yml/,
    );
    expect(r.stdout).toContain('--gate-source');
    expect(r.calls).toEqual([]);
  });

  it('a failing npm fails the step before policy-gate runs', async () => {
    const install = step(await initWorkflow(['--gate-source', 'policy-gate@0.1.0']), 'install policy-gate');
    const r = runStep(install, { STUB_NPM_EXIT: '1' });
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([expect.stringMatching(/^npm pack .* policy-gate@0\.1\.0$/)]);
  });

  it('a source that is not one word is a usage error', async () => {
    const r = await runCli(['init', tempDir(), '--gate-source', 'policy-gate; curl x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--gate-source expects one npm install spec');
  });
});

describe("the workflow's diff step", () => {
  it("fails with policy diff's own exit code, through the pipe into tee, and still writes the summary", async () => {
    const diff = step(await initWorkflow(), 'diff');
    const r = runStep(diff, { STUB_GATE_EXIT: '4' });
    expect(r.code).toBe(4);
    expect(r.calls).toEqual(['policy-gate policy diff origin/main HEAD --policy policies']);
    expect(r.summary).toContain('MAJOR whitelist git.status: whitelist rule broadened');
  });

  it('passes when policy diff passes', async () => {
    const r = runStep(step(await initWorkflow(), 'diff'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('MAJOR whitelist git.status');
    expect(r.summary).toMatch(/^### policy diff\n```\nMAJOR/);
  });
});
