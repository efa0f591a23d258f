import { ExitCode, runExamples, runPolicyTests, usageError } from '../engine/index.js';
import { COMMON_OPTIONS, bool, parseTime, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, openStoreIfExists, policyFor } from './context.js';
import type { CliIo } from './io.js';
import { style } from './render/style.js';
import { oneLine } from './render/text.js';
import { LINT_CODES } from '../engine/authoring/index.js';

const HELP = `Usage: policy-gate policy <test|lint|diff> [options]

  policy test                  run every rule's and whitelist rule's examples and the cases in
                               policies/tests/*.yaml; print a pass/fail table per rule
  policy lint                  find everything wrong with the policy directory at once, each
                               finding as FILE:LINE: CODE rule: message
  policy diff BASE [HEAD]      classify a change (major/minor/patch) and replay the test cases
                               and the recent audit trail through both versions, printing every
                               decision that changes. BASE and HEAD are Git commits, branches or
                               tags of the repository holding --policy, or policy directories;
                               HEAD defaults to the working tree.

Options:
  --policy DIR      policy directory (default: the shipped policies; env POLICY_GATE_POLICY)
  --json            one JSON object on stdout (test: {ok, rules, cases}; lint: {ok, findings};
                    diff: {level, changes, decisions, replayed, base, head})
  --store PATH      diff: the audit trail to replay (default: the store check would use, if present)
  --since TIME      diff: replay commands recorded since TIME (default: the last 30 days)
  --limit N         diff: replay at most the N most recent commands (default 5000)
  --fail-on LEVEL   diff: exit 1 when the change is at least LEVEL (major, minor or patch)
  -h, --help        show this help

Lint codes:
${Object.entries(LINT_CODES)
  .map(([code, meaning]) => `  ${code}  ${meaning}`)
  .join('\n')}

Change levels (diff):
  major   loosens the gate: a rule removed, a score lowered, waivable turned on, a whitelist
          rule broadened, a threshold raised, review enforcement turned off, or a detection
          rule that stops firing on a replayed command
  minor   adds or tightens: a rule or whitelist rule added, a match or set changed
  patch   examples, descriptions, owners, reasons, test cases

Exit codes:
  test, lint: 0 all pass · 2 a failure, or an invalid policy
  diff:       0 compared (or below --fail-on) · 1 at or above --fail-on · 2 a usage, Git or
              policy error
  70 internal error

Examples:
  policy-gate policy lint --policy policies
  policy-gate policy diff origin/main HEAD --policy policies --fail-on major
`;

interface RuleRow {
  id: string;
  kind: 'rule' | 'whitelist';
  file: string;
  line: number;
  passed: number;
  failed: string[];
}

const OPTIONS = {
  ...COMMON_OPTIONS,
  since: { type: 'string' },
  limit: { type: 'string' },
  'fail-on': { type: 'string' },
} as const;

export const command = defineCommand({
  name: 'policy',
  help: HELP,
  options: OPTIONS,
  subcommands: { test: { run: test }, lint: { run: lint }, diff: { operands: ['BASE', '[HEAD]'], run: diff } },
});

async function test(p: Parsed, io: CliIo): Promise<number> {
  const loc = locations(p, io);
  const policy = await policyFor(loc, { examples: 'report' });
  const examples = runExamples(policy);
  const cases = await runPolicyTests(policy);
  const rows = new Map<string, RuleRow>();
  for (const r of policy.rules)
    rows.set(`rule:${r.id}`, { id: r.id, kind: 'rule', file: r.file, line: r.line, passed: 0, failed: [] });
  for (const r of policy.whitelist)
    rows.set(`whitelist:${r.id}`, { id: r.id, kind: 'whitelist', file: r.file, line: r.line, passed: 0, failed: [] });
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
  for (const c of cases.filter((x) => !x.ok))
    io.stdout.write(s.red(`  ${c.file} #${c.index + 1} ${JSON.stringify(c.cmd)}: ${c.failures.join('; ')}\n`));
  const failedRules = [...rows.values()].filter((r) => r.failed.length > 0).length;
  io.stdout.write(
    ok
      ? s.green(`all ${rows.size} rules and ${cases.length} cases pass (policy ${policy.revision.slice(0, 19)})\n`)
      : s.red(`${failedRules} rule(s) and ${cases.length - passedCases} case(s) fail\n`),
  );
  return ok ? ExitCode.Allowed : ExitCode.Usage;
}

async function lint(p: Parsed, io: CliIo): Promise<number> {
  const loc = locations(p, io);
  const { lintPolicy } = await import('../engine/authoring/index.js');
  const findings = await lintPolicy(loc.policy);
  const ok = findings.length === 0;
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify({ ok, findings })}\n`);
    return ok ? ExitCode.Allowed : ExitCode.Usage;
  }
  const s = style(io.stdout, io.env);
  for (const f of findings) {
    io.stdout.write(`${f.file}:${f.line}: ${s.red(f.code)}${f.rule ? ` ${f.rule}` : ''}: ${f.message}\n`);
  }
  io.stdout.write(
    ok ? s.green(`lint: no findings in ${loc.policy}\n`) : s.red(`lint: ${findings.length} finding(s)\n`),
  );
  return ok ? ExitCode.Allowed : ExitCode.Usage;
}

const DAY_MS = 24 * 3600 * 1000;

async function diff(p: Parsed, io: CliIo): Promise<number> {
  const [base, head] = p.positionals as [string, string | undefined];
  const failOn = str(p, 'fail-on');
  if (failOn !== undefined && !['major', 'minor', 'patch'].includes(failOn))
    throw usageError(`--fail-on expects major, minor or patch, got ${JSON.stringify(failOn)}`);
  const limitText = str(p, 'limit');
  const limit = limitText === undefined ? 5000 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0)
    throw usageError(`--limit expects a whole number, got ${JSON.stringify(limitText)}`);
  const since = parseTime(str(p, 'since'), '--since') ?? new Date(Date.now() - 30 * DAY_MS);
  const loc = locations(p, io);
  const store = await openStoreIfExists(loc);
  let history;
  try {
    history = store ? await store.commands({ since: since.toISOString(), limit }) : [];
  } finally {
    await store?.close();
  }
  const { diffPolicies, levelAtLeast } = await import('../engine/authoring/index.js');
  const result = await diffPolicies({
    policyDir: loc.policy,
    cwd: io.cwd,
    base,
    head: head && head !== '' ? head : undefined,
    history,
  });
  const failed = failOn !== undefined && levelAtLeast(result.level, failOn as 'major');
  const code = failed ? ExitCode.Denied : ExitCode.Allowed;
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify(result)}\n`);
    return code;
  }
  const s = style(io.stdout, io.env);
  const paint = (level: string): string =>
    level === 'major'
      ? s.red(level.toUpperCase())
      : level === 'minor'
        ? s.yellow(level.toUpperCase())
        : level.toUpperCase();
  io.stdout.write(`${s.bold('policy diff')} ${result.base.ref} → ${result.head.ref}: ${paint(result.level)}\n`);
  for (const c of result.changes)
    io.stdout.write(
      `  ${paint(c.level)}${' '.repeat(5 - c.level.length)}  ${c.kind.padEnd(9)}  ${c.id}: ${c.message}\n`,
    );
  if (result.changes.length === 0) io.stdout.write(s.dim('  no change to rules, whitelist rules or gate settings\n'));
  io.stdout.write(
    `replayed ${result.replayed.cases} test case(s) and ${result.replayed.audit} recorded command(s): ` +
      `${result.decisions.length} outcome(s) change\n`,
  );
  for (const d of result.decisions) {
    const arrow = `${d.before.decision}/${d.before.level} → ${d.after.decision}/${d.after.level}`;
    const tag = d.direction === 'looser' ? s.red('looser  ') : s.green('stricter');
    io.stdout.write(
      `  ${tag} ${arrow.padEnd(34)} ${d.source === 'case' ? d.ref : `audit ${d.ref}`}  ${oneLine(d.command)}\n`,
    );
  }
  if (failed) io.stdout.write(s.red(`the change is ${result.level}, at or above --fail-on ${failOn}\n`));
  return code;
}
