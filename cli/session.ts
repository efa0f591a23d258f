import {
  ExitCode,
  escapeForDisplay,
  usageError,
  type CommandRecord,
  type EventBody,
  type StoredEvent,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, openStoreIfExists } from './context.js';
import type { CliIo } from './io.js';
import { style, type Style } from './render.js';
import { allowsRun } from '../engine/model/verdict.js';

const HELP = `Usage: policy-gate session show SESSION_ID [--json]

The session's timeline, oldest first: each command with its risk, the decision, who or what
decided and how fast, refused review attempts, escalations, and its run through \`exec\` (exit
code, duration, the recording and its SHA-256).

Options:
  --json            print {"session", "commands": [{record, events}]} on stdout
  --store PATH      audit store (default .policy-gate/audit.db; env POLICY_GATE_STORE)
  -h, --help        show this help

Exit codes: 0 shown · 2 usage error, unknown session or unreadable store
`;

export const command = defineCommand({
  name: 'session',
  help: HELP,
  options: COMMON_OPTIONS,
  subcommands: { show: { operands: ['SESSION_ID'], run: show } },
});

async function show(p: Parsed, io: CliIo): Promise<number> {
  const id = p.positionals[0]!;
  const store = openStoreIfExists(locations(p, io));
  try {
    const records = store ? store.commands({ session: id }) : [];
    if (records.length === 0)
      throw usageError(`no commands recorded for session ${JSON.stringify(id)}`, 'see: policy-gate audit');
    const timeline = records.map((record) => ({
      record,
      events: store!
        .commandEvents(record.command_id)
        .map((e) => ({ seq: e.seq, type: e.type, at: e.at, leaf: e.leaf, body: e.body })),
    }));
    if (bool(p, 'json')) {
      io.stdout.write(`${JSON.stringify({ session: id, commands: timeline })}\n`);
      return ExitCode.Allowed;
    }
    const s = style(io.stdout, io.env);
    const agents = [...new Set(records.map((r) => r.agent ?? '-'))].join(', ');
    io.stdout.write(
      `${s.bold(`session ${id}`)}  ${records.length} command(s) · agent ${agents} · ${records[0]!.submitted_at} → ${records[records.length - 1]!.submitted_at}\n`,
    );
    for (const { record, events } of timeline) io.stdout.write(entry(s, record, events));
    return ExitCode.Allowed;
  } finally {
    store?.close();
  }
}

function time(iso: string | null | undefined): string {
  return iso ? iso.slice(11, 23) : '--:--:--';
}

function entry(
  s: Style,
  r: CommandRecord,
  events: readonly (Pick<StoredEvent, 'type' | 'at'> & { body: EventBody })[],
): string {
  const cmd = escapeForDisplay(r.command).replace(/\n/g, '⏎');
  const color = allowsRun(r.decision) ? s.green : r.decision === 'pending' ? s.yellow : s.red;
  const lines = [`\n${s.dim(time(r.submitted_at))} ${s.bold('$')} ${cmd.length > 100 ? `${cmd.slice(0, 99)}…` : cmd}`];
  lines.push(
    `             risk ${r.risk_score} ${r.risk_level}${
      r.signals.length
        ? ` · ${r.signals
            .slice(0, 3)
            .map((x) => x.rule_id)
            .join(', ')}`
        : ''
    }${r.intent ? ` · intent: ${escapeForDisplay(r.intent)}` : ''}`,
  );
  for (const e of events) {
    const b = e.body;
    switch (b.type) {
      case 'REVIEWED':
        lines.push(
          `${s.dim(time(e.at))} approval ${b.approvals}/${b.approvals_needed} by ${b.reviewer} (signed, key ${b.signed.key_fingerprint})`,
        );
        break;
      case 'REVIEW_REFUSED':
        lines.push(
          `${s.dim(time(e.at))} ${s.red('refused')} ${b.decision ?? 'decision'} claimed by ${b.claimed_reviewer ?? '?'} from ${b.submitted_from.user}@${b.submitted_from.host}: ${b.refusal}: ${b.message}`,
        );
        break;
      case 'ESCALATED':
        lines.push(
          `${s.dim(time(e.at))} escalated after ${b.after_seconds} s to ${b.notifier.join(' ')}${b.error ? ` (failed: ${b.error})` : ''}`,
        );
        break;
      case 'DECIDED': {
        const signed = b.signatures?.length
          ? ` · signed by ${b.signatures.map((x) => `${x.reviewer} ${x.key_fingerprint}`).join(', ')}`
          : '';
        lines.push(
          `${s.dim(time(e.at))} ${color(b.decision)} by ${b.decided_by} in ${b.review_latency_ms} ms${b.reason ? `: ${b.reason}` : ''}${signed}`,
        );
        break;
      }
      case 'EXEC_START':
        lines.push(
          `${s.dim(time(e.at))} started  bash --noprofile --norc -c … in ${escapeForDisplay(b.cwd)}${b.env_removed.length ? ` (removed ${b.env_removed.join(' ')})` : ''}`,
        );
        break;
      case 'EXEC_END':
        lines.push(
          `${s.dim(time(e.at))} ended    exit ${b.exit_code}${b.signal ? ` (${b.signal})` : ''} after ${b.duration_ms} ms` +
            (b.recording
              ? ` · recording ${b.recording.path} sha256 ${b.recording.sha256.slice(0, 16)}…`
              : b.recording_error
                ? ` · no recording: ${b.recording_error}`
                : ''),
        );
        break;
      default:
        break;
    }
  }
  if (r.decision === 'pending')
    lines.push(`${' '.repeat(13)}${s.yellow('pending')}${r.deadline ? ` until ${r.deadline}` : ''}`);
  return `${lines.join('\n')}\n`;
}
