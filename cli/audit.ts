import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  BUNDLE_FORMAT,
  ExitCode,
  SqliteAuditStore,
  bundleEvent,
  bundlePolicy,
  trustedKeys,
  usageError,
  type Bundle,
  type CommandRecord,
  type CommandState,
} from '../engine/index.js';
import { COMMON_OPTIONS, bool, parseTime, str, type Parsed } from './args.js';
import { defineCommand } from './command.js';
import { locations, openStore, openStoreIfExists, policyFor } from './context.js';
import type { CliIo } from './io.js';
import { auditEntry } from './render/record.js';
import { style } from './render/style.js';
import { COMMAND_STATES } from '../engine/model/verdict.js';

const HELP = `Usage: policy-gate audit [options]
       policy-gate audit export --format jsonl|csv [--from TIME] [--to TIME] [--out FILE]
       policy-gate audit export --bundle FILE

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

export:
  --format jsonl    one line per event, in order: seq, type, command_id, at, leaf, chain and
                    the body (the exact stored bytes are in the bundle)
  --format csv      one row per command: submission, risk, decision, who, latency, policy
                    revision, run and recording hash (RFC 4180; a cell a spreadsheet would
                    run as a formula is prefixed with ')
  --from/--to TIME  only events (jsonl) or commands (csv) at or after / before these times
  --out FILE        write there instead of stdout
  --bundle FILE     an evidence bundle: every event's exact bytes and hashes, the signed
                    checkpoints (a new one first, covering every event), the pinned keys, the reviewers and whitelist rule ids of each
                    policy revision, and the recordings; \`policy-gate verify --bundle FILE\`
                    checks it on another machine without the store

Exit codes: 0 listed or exported (also when empty) · 2 usage error or unreadable store · 70 internal error
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  format: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string' },
  bundle: { type: 'string' },
  session: { type: 'string' },
  decision: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
} as const;

export const command = defineCommand({
  name: 'audit',
  help: HELP,
  options: OPTIONS,
  default: { run: list },
  subcommands: { export: { run: exportTrail } },
});

async function list(p: Parsed, io: CliIo): Promise<number> {
  const decision = str(p, 'decision');
  if (decision !== undefined && !COMMAND_STATES.includes(decision as CommandState)) {
    throw usageError(`--decision must be one of ${COMMAND_STATES.join(', ')}; got ${JSON.stringify(decision)}`);
  }
  const since = parseTime(str(p, 'since'), '--since');
  const limitText = str(p, 'limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    throw usageError(`--limit expects a whole number, got ${JSON.stringify(limitText)}`);
  const store = openStoreIfExists(locations(p, io));
  const records = store
    ? store.commands({
        session: str(p, 'session'),
        decision: decision as CommandState | undefined,
        since: since?.toISOString(),
        limit,
      })
    : [];
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
  for (const r of records) io.stdout.write(auditEntry(s, r));
  return ExitCode.Allowed;
}

const CSV_COLUMNS = [
  'command_id',
  'submitted_at',
  'session_id',
  'agent',
  'cwd',
  'intent',
  'command',
  'risk_score',
  'risk_level',
  'top_rules',
  'decision',
  'decided_by',
  'decided_at',
  'review_latency_ms',
  'reason',
  'policy_revision',
  'started_at',
  'ended_at',
  'exit_code',
  'recording_sha256',
] as const;

function csvField(v: unknown): string {
  const text = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(text) || /^[=+\-@\t]/.test(text)
    ? `"${(/^[=+\-@\t]/.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`
    : text;
}

async function exportTrail(p: Parsed, io: CliIo): Promise<number> {
  const loc = locations(p, io);
  const bundleFile = str(p, 'bundle');
  const format = str(p, 'format');
  if (bundleFile === undefined && format !== 'jsonl' && format !== 'csv')
    throw usageError('audit export needs --format jsonl|csv, or --bundle FILE', 'see: policy-gate audit --help');
  if (
    bundleFile !== undefined &&
    (format !== undefined || str(p, 'from') !== undefined || str(p, 'to') !== undefined)
  ) {
    throw usageError(
      'a bundle is the whole trail (a chain verifies from its first event): no --format, --from or --to',
    );
  }
  const from = parseTime(str(p, 'from'), '--from')?.toISOString();
  const to = parseTime(str(p, 'to'), '--to')?.toISOString();
  const inRange = (at: string): boolean => (from === undefined || at >= from) && (to === undefined || at < to);
  if (bundleFile !== undefined) {
    // a bundle ends with a checkpoint that covers all of it
    const writer = openStore(loc, {
      policy: await policyFor(loc),
      warn: (message) => io.stderr.write(`policy-gate: ${message}\n`),
    });
    try {
      writer.checkpoint(new Date());
    } finally {
      writer.close();
    }
  }
  const store = SqliteAuditStore.open(loc.store, { readonly: true });
  try {
    let text: string;
    if (bundleFile !== undefined) {
      const { policyProvider } = await import('./policy-at.js');
      const policyAt = await (await policyProvider(loc.policy))(store.policyRevisions());
      const policies: Bundle['policies'] = {};
      for (const revision of store.policyRevisions()) {
        const at = policyAt(revision);
        if (at) (policies as Record<string, Bundle['policies'][string]>)[revision] = bundlePolicy(at);
      }
      const recordings: Record<string, string> = {};
      for (const r of store.commands()) {
        const rec = r.execution?.recording;
        if (!rec) continue;
        try {
          recordings[rec.path] = readFileSync(join(dirname(loc.store), rec.path)).toString('base64');
        } catch {
          /* a missing recording is for verify to report */
        }
      }
      const bundle: Bundle = {
        format: BUNDLE_FORMAT,
        created_at: new Date().toISOString(),
        events: [...store.rawEvents()].map(bundleEvent),
        checkpoints: store.checkpoints().map((c) => c.note),
        keys: trustedKeys(dirname(loc.store)).map((k) => k.text),
        policies,
        recordings,
      };
      text = `${JSON.stringify(bundle)}\n`;
      writeOut(io, bundleFile, text);
      io.stderr.write(
        `policy-gate: bundle of ${bundle.events.length} events and ${bundle.checkpoints.length} checkpoints written to ${bundleFile}\n`,
      );
      return ExitCode.Allowed;
    }
    if (format === 'jsonl') {
      const lines: string[] = [];
      for (const e of store.rawEvents()) {
        if (!inRange(e.at)) continue;
        lines.push(
          `{"seq":${e.seq},"type":${JSON.stringify(e.type)},"command_id":${JSON.stringify(e.command_id)},` +
            `"at":${JSON.stringify(e.at)},"leaf":"${e.leaf.toString('hex')}","chain":"${e.chain.toString('hex')}",` +
            `"body":${e.bytes.toString('utf8')}}`,
        );
      }
      text = lines.length ? `${lines.join('\n')}\n` : '';
    } else {
      const rows = store.commands().filter((r) => inRange(r.submitted_at));
      const line = (r: CommandRecord): string =>
        [
          r.command_id,
          r.submitted_at,
          r.session_id,
          r.agent,
          r.cwd,
          r.intent,
          r.command,
          r.risk_score,
          r.risk_level,
          r.signals
            .slice(0, 3)
            .map((x) => x.rule_id)
            .join(' '),
          r.decision,
          r.decided_by,
          r.decided_at,
          r.review_latency_ms,
          r.reason,
          r.policy_revision,
          r.execution?.started_at,
          r.execution?.ended_at,
          r.execution?.exit_code,
          r.execution?.recording?.sha256,
        ]
          .map(csvField)
          .join(',');
      text = `${[CSV_COLUMNS.join(','), ...rows.map(line)].join('\r\n')}\r\n`;
    }
    writeOut(io, str(p, 'out'), text);
    return ExitCode.Allowed;
  } finally {
    store.close();
  }
}

function writeOut(io: CliIo, file: string | undefined, text: string): void {
  if (file === undefined || file === '-') {
    io.stdout.write(text);
    return;
  }
  try {
    writeFileSync(isAbsolute(file) ? file : join(io.cwd, file), text, { mode: 0o600 });
  } catch (err) {
    throw usageError(`cannot write ${file}: ${(err as Error).message}`);
  }
}
