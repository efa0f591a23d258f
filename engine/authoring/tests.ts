/**
 * Policy test cases (policies/tests/*.yaml): end-to-end expectations for whole commands, easy
 * to extend after every incident or false positive.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GateError } from '../util/errors.js';
import { assess } from '../gate/assess.js';
import { levelRank } from '../model/verdict.js';
import { parseYaml, readYamlFile } from '../util/yaml.js';
import { EXAMPLE_TIME } from '../gate/examples.js';
import { contentsOnly, type Policy } from '../gate/policy.js';
import type { PolicyTestCase } from '../policy/types.js';

export interface PolicyTestResult {
  readonly file: string;
  readonly index: number;
  readonly cmd: string;
  readonly ok: boolean;
  readonly failures: readonly string[];
}

export interface LocatedTestCase extends PolicyTestCase {
  readonly file: string;
  readonly index: number;
}

/** The cases in `dir`/tests/*.yaml, validated (none when there is no tests/ directory). */
export async function readPolicyTests(dir: string): Promise<LocatedTestCase[]> {
  const testsDir = join(dir, 'tests');
  let files: string[];
  try {
    files = readdirSync(testsDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    return [];
  }
  const { tests: validate } = (await import('../policy/generated/validators.js')) as unknown as {
    tests: ((d: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] };
  };
  const cases: LocatedTestCase[] = [];
  for (const f of files) {
    const name = join('tests', f);
    const { data } = parseYaml(readYamlFile(join(testsDir, f), name), name);
    if (!validate(data)) {
      const e = validate.errors?.[0];
      throw new GateError('policy-invalid', `schema: ${e?.instancePath ?? ''} ${e?.message ?? 'invalid'}`, {
        location: { file: name },
      });
    }
    (data as { cases: PolicyTestCase[] }).cases.forEach((c, index) => cases.push({ ...c, file: name, index }));
  }
  return cases;
}

/**
 * Where a case runs: at the root of a project in a user's home, whose `policies/` directory is
 * the gate's own (so a row can say that writing there is tampering, and that `./build` is the
 * project's while `~/projects` and `/data` are not).
 */
export const CASE_PLACE = {
  cwd: '/home/agent/project',
  home: '/home/agent',
  project: '/home/agent/project',
  protectedPaths: ['/home/agent/project/policies'],
} as const;

/** Cases judge the policy's contents: a change under review passes them before it is merged. */
export async function runPolicyTests(reviewed: Policy): Promise<PolicyTestResult[]> {
  const policy = contentsOnly(reviewed);
  return (await readPolicyTests(policy.dir)).map((c) => {
    const a = assess(c.cmd, policy, { ...CASE_PLACE, now: c.now ? new Date(c.now) : EXAMPLE_TIME, history: null });
    const failures: string[] = [];
    const ids = a.signals.map((s) => s.rule_id);
    if (c.level && a.risk_level !== c.level) failures.push(`level ${a.risk_level}, expected ${c.level}`);
    if (c.min_level && levelRank(a.risk_level) < levelRank(c.min_level))
      failures.push(`level ${a.risk_level}, expected at least ${c.min_level}`);
    if (c.max_level && levelRank(a.risk_level) > levelRank(c.max_level))
      failures.push(`level ${a.risk_level}, expected at most ${c.max_level}`);
    if (c.decision && a.would_decide !== c.decision)
      failures.push(`decision ${a.would_decide}, expected ${c.decision}`);
    for (const r of c.rules ?? []) if (!ids.includes(r)) failures.push(`rule ${r} did not fire`);
    for (const r of c.not_rules ?? []) if (ids.includes(r)) failures.push(`rule ${r} fired`);
    return { file: c.file, index: c.index, cmd: c.cmd, ok: failures.length === 0, failures };
  });
}
