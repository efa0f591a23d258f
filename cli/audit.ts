import { ExitCode, escapeForDisplay, usageError, type CommandState } from '../engine/index.js';
import { COMMON_OPTIONS, bool, parse, parseTime, str } from './args.js';
import { locations, openStoreIfExists } from './context.js';
import type { CliIo } from './io.js';
import { style } from './render.js';

export const HELP = `Usage: policy-gate audit [options]

List recorded commands, newest last: when, the decision, who or what decided, the risk and
the command (control characters escaped).

Options:
  --session ID      only this session
  --decision D      only approved | denied | whitelisted | timed_out | pending
  --since TIME      only commands submitted at or after this ISO 8601 time
  --limit N         only the newest N
  --json            print one JSON array of records on stdout
  --store PATH      audit store (default .policy-gate/audit.db; env POLICY_GATE_STORE)
  -h, --help        show this help

Exit codes: 0 listed (also when empty) · 2 usage error or unreadable store · 70 internal error
`;

const DECISIONS: readonly CommandState[] = ['approved', 'denied', 'whitelisted', 'timed_out', 'pending'];

const OPTIONS = {
  ...COMMON_OPTIONS,
  session: { type: 'string' },
  decision: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
} as const;

export async function run(args: string[], io: CliIo): Promise<number> {
  const p = parse('audit', args, OPTIONS);
  if (bool(p, 'help')) {
    io.stdout.write(HELP);
    return ExitCode.Allowed;
  }
  if (p.positionals.length > 0 || p.rest) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0] ?? '--')}`, 'see: policy-gate audit --help');
  const decision = str(p, 'decision');
  if (decision !== undefined && !DECISIONS.includes(decision as CommandState)) {
    throw usageError(`--decision must be one of ${DECISIONS.join(', ')}; got ${JSON.stringify(decision)}`);
  }
  const since = parseTime(str(p, 'since'), '--since');
  const limitText = str(p, 'limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw usageError(`--limit expects a whole number, got ${JSON.stringify(limitText)}`);
  const store = openStoreIfExists(locations(p, io));
  const records = store ? store.commands({ session: str(p, 'session'), decision: decision as CommandState | undefined, since: since?.toISOString(), limit }) : [];
  store?.close();
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify(records)}\n`);
    return ExitCode.Allowed;
  }
  const s = style(io.stdout, io.env);
  if (records.length === 0) {
    io.stdout.write(s.dim('no recorded commands\n'));
    return ExitCode.Allowed;
  }
  for (const r of records) {
    const when = r.submitted_at.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const d = r.decision.padEnd(11);
    const colored = r.decision === 'whitelisted' || r.decision === 'approved' ? s.green(d) : r.decision === 'pending' ? s.yellow(d) : s.red(d);
    const cmd = escapeForDisplay(r.command).replace(/\n/g, '⏎');
    const shown = cmd.length > 80 ? `${cmd.slice(0, 79)}…` : cmd;
    const latency = r.review_latency_ms === null ? '' : ` ${r.review_latency_ms}ms`;
    io.stdout.write(`${s.dim(when)}  ${colored} ${String(r.risk_score).padStart(3)} ${r.risk_level.padEnd(8)} ${shown}\n`);
    io.stdout.write(s.dim(`    ${r.command_id}  session ${r.session_id ?? '-'}  agent ${r.agent ?? '-'}  by ${r.decided_by ?? '-'}${latency}\n`));
  }
  return ExitCode.Allowed;
}
