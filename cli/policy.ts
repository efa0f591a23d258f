import { ExitCode, runExamples, runPolicyTests, usageError } from '../engine/index.js';
import { COMMON_OPTIONS, bool, parse } from './args.js';
import { locations, policyFor } from './context.js';
import type { CliIo } from './io.js';
import { style } from './render.js';

export const HELP = `Usage: policy-gate policy test [options]

Run every rule's and whitelist rule's examples (examples.match / examples.no_match) and the
cases in policies/tests/*.yaml, and print a pass/fail table per rule.

Options:
  --policy DIR      policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  --json            print one JSON object {rules: [...], cases: [...], ok} on stdout
  -h, --help        show this help

Exit codes: 0 all pass · 2 a failure, or an invalid policy · 70 internal error
`;

interface RuleRow {
  id: string;
  kind: 'rule' | 'whitelist';
  file: string;
  line: number;
  passed: number;
  failed: string[];
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const p = parse('policy', args, COMMON_OPTIONS);
  const sub = p.positionals[0];
  if (bool(p, 'help') || sub === undefined) {
    io.stdout.write(HELP);
    return sub === undefined && !bool(p, 'help') ? ExitCode.Usage : ExitCode.Allowed;
  }
  if (sub !== 'test') throw usageError(`unknown policy subcommand ${JSON.stringify(sub)}`, 'see: policy-gate policy --help');
  const loc = locations(p, io);
  const policy = await policyFor(loc, { examples: 'report' });
  const examples = runExamples(policy);
  const cases = await runPolicyTests(policy);
  const rows = new Map<string, RuleRow>();
  for (const r of policy.rules) rows.set(`rule:${r.id}`, { id: r.id, kind: 'rule', file: r.file, line: r.line, passed: 0, failed: [] });
  for (const r of policy.whitelist) rows.set(`whitelist:${r.id}`, { id: r.id, kind: 'whitelist', file: r.file, line: r.line, passed: 0, failed: [] });
  for (const e of examples) {
    const row = rows.get(`${e.kind}:${e.rule}`)!;
    if (e.ok) row.passed++;
    else row.failed.push(e.message);
  }
  // a rule with no examples documents nothing and proves nothing
  for (const row of rows.values()) if (row.passed + row.failed.length === 0) row.failed.push('no examples');
  const ok = [...rows.values()].every((r) => r.failed.length === 0) && cases.every((c) => c.ok);
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify({ ok, policy_revision: policy.revision, rules: [...rows.values()], cases })}\n`);
    return ok ? ExitCode.Allowed : ExitCode.Usage;
  }
  const s = style(io.stdout, io.env);
  const width = Math.max(...[...rows.values()].map((r) => r.id.length), 10);
  io.stdout.write(s.bold(`${'rule'.padEnd(width)}  kind       examples  result\n`));
  for (const r of rows.values()) {
    const total = r.passed + r.failed.length;
    const result = r.failed.length === 0 ? s.green('pass') : s.red('FAIL');
    io.stdout.write(`${r.id.padEnd(width)}  ${r.kind.padEnd(9)}  ${`${r.passed}/${total}`.padStart(8)}  ${result}\n`);
    for (const f of r.failed) io.stdout.write(s.red(`    ${r.file}:${r.line}: ${f}\n`));
  }
  const passedCases = cases.filter((c) => c.ok).length;
  io.stdout.write(`\ncases: ${passedCases}/${cases.length} pass\n`);
  for (const c of cases.filter((x) => !x.ok)) io.stdout.write(s.red(`  ${c.file} #${c.index + 1} ${JSON.stringify(c.cmd)}: ${c.failures.join('; ')}\n`));
  const failedRules = [...rows.values()].filter((r) => r.failed.length > 0).length;
  io.stdout.write(ok ? s.green(`all ${rows.size} rules and ${cases.length} cases pass (policy ${policy.revision.slice(0, 19)})\n`) : s.red(`${failedRules} rule(s) and ${cases.length - passedCases} case(s) fail\n`));
  return ok ? ExitCode.Allowed : ExitCode.Usage;
}
